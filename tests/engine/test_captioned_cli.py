"""``reelscript transcribe --format captioned`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.engine.conftest import DATA
from tests.engine.test_cli import reelscript


@pytest.mark.slow
def test_captioned_vertical_from_a_recording(tmp_path: Path) -> None:
    result = reelscript(
        str(DATA / "reading_short.wav"), "--format", "captioned,srt", "--frame", "9:16",
        "--fit", "crop", "-o", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "reading_short.wav has no picture: the captions are on a plain background" in (
        result.stderr
    )
    out = tmp_path / "reading_short.captioned.mp4"
    assert f"wrote {out}" in result.stdout + result.stderr
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.width, cc.height, cc.pix_fmt) == (1080, 1920, "yuv420p") and c.streams.audio
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, "reading_short.srt"]


def test_an_unknown_frame_is_a_usage_error(tmp_path: Path) -> None:
    result = reelscript(str(DATA / "demo.mp4"), "--format", "captioned", "--frame", "4:3")
    assert result.returncode == 2 and "--frame" in result.stderr

"""``reelscript transcribe`` with file names holding a newline, a tab or an escape
character: each error is still one line, the name shown escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.test_cli import reelscript
from tui.engine.errors import one_line


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("bad\nname.mp4", "bad\\nname.mp4"),
        ("tab\tname.mp4", "tab\\tname.mp4"),
        ("esc\x1b[31mred.mp4", "esc\\x1b[31mred.mp4"),
        ("line\u2028sep.mp4", "line\\u2028sep.mp4"),
    ],
)
def test_a_name_with_control_characters_stays_one_line(
    tmp_path: Path, name: str, shown: str
) -> None:
    (tmp_path / name).write_text("not a video\n" * 20)
    missing = tmp_path / ("gone-" + name)
    result = reelscript(str(tmp_path / name), str(missing), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 5
    lines = [line for line in result.stderr.split("\n") if line.strip()]
    assert len(lines) == 2, result.stderr
    assert lines[0] == f"error: {tmp_path}/{shown}: " + lines[0].split(f"{shown}: ", 1)[1]
    assert "not a media file" in lines[0]
    assert lines[1] == f"error: {tmp_path}/gone-{shown}: no such file"
    assert "\t" not in result.stderr and "\x1b" not in result.stderr


def test_one_line_leaves_ordinary_text_alone() -> None:
    assert one_line("talk (1) – ünïcode.mp4") == "talk (1) – ünïcode.mp4"
    assert one_line("a\r\nb") == "a\\r\\nb"

"""What ``/run_sse`` understands of the captioned export: "export 1080p MP4", "导出竖屏视频"."""

from __future__ import annotations

import pytest

from tui.backend.agent import understand, understand_all

CAPTIONED = {"format": "captioned", "resolution": "1080p", "fit": "blur"}
VERTICAL = {**CAPTIONED, "resolution": "1080x1920"}


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("export 1080p MP4", CAPTIONED),
        ("export vertical video with captions", VERTICAL),
        ("导出竖屏视频", VERTICAL),
        ("导出横屏视频", CAPTIONED),
        ("export a 9:16 video for TikTok, cropped", {**VERTICAL, "fit": "crop"}),
        ("export mp4 with the subtitles burned in", CAPTIONED),
        (
            "export the video with captions at the original size",
            {**CAPTIONED, "resolution": "source"},
        ),
        # The soft-subtitle mp4 and the subtitle files are what they were.
        ("export mp4", {"format": "mp4"}),
        ("export video", {"format": "mp4"}),
        ("export subtitles", {"format": "srt"}),
        ("导出字幕", {"format": "srt"}),
    ],
)
def test_captioned_in_words(text: str, args: dict) -> None:
    intent = understand(text)
    assert intent.action == "export" and intent.args.items() >= args.items(), intent
    if args["format"] != "captioned":
        assert "resolution" not in intent.args


def test_captioned_with_other_exports() -> None:
    intents = understand_all("rename Speaker 1 to Host and export srt and a vertical video")
    assert [(i.action, i.args.get("format")) for i in intents] == [
        ("rename", None),
        ("export", "srt"),
        ("export", "captioned"),
    ]
    assert intents[-1].args["resolution"] == "1080x1920"

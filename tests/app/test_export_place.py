"""Exports land where the user is: the video's folder, then the folder last used; the
extension follows the format; files get the user's umask like every other output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from tests.app.driving import type_text, wait_for, wait_for_group
from tests.backend.media import make_video
from tui.app.app import make_app
from tui.app.dialogs.export import ExportScreen, with_format
from tui.app.panes.sse_log import SSELog
from tui.datadir import OUTPUT_MODE


def test_the_extension_follows_the_format() -> None:
    assert with_format("/v/panel.md", "srt") == "/v/panel.srt"
    assert with_format("/v/panel.srt", "mp4") == "/v/panel.script.mp4"
    assert with_format("/v/panel.script.mp4", "docx") == "/v/panel.docx"
    assert with_format("/v/notes", "vtt") == "/v/notes.vtt"
    assert with_format("/v/my.talk.md", "txt") == "/v/my.talk.txt"


async def test_exports_default_to_the_videos_folder_and_remember_the_last_one(
    live_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "shell"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the app is started from another folder
    folder = tmp_path / "videos"
    folder.mkdir()
    video = make_video(folder / "panel.mp4", seconds=2.0)
    app = make_app(folder, server=live_server.url, token_file=tmp_path / "token.json")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        app.jobs.submit_files([video])
        await wait_for_group(pilot, "job")

        # Asked in words: saved beside the video, not in the shell's folder.
        await pilot.press("5")
        await type_text(pilot, "export txt and vtt")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (folder / "panel.txt").exists() and (folder / "panel.vtt").exists(),
            30,
            "the worded exports",
        )
        assert not list(elsewhere.iterdir())
        mode = stat.S_IMODE((folder / "panel.txt").stat().st_mode)
        assert mode == OUTPUT_MODE == 0o666 & ~_umask()

        # The dialog offers the video's folder; the name follows the format, even typed.
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), 5, "the dialog")
        path = app.screen.query_one("#path", Input)
        assert path.value == str(folder / "panel.md")
        other = tmp_path / "exports"
        other.mkdir()
        path.value = str(other / "panel.md")
        app.screen.query_one("#format", Select).value = "srt"
        await pilot.pause()
        assert path.value == str(other / "panel.srt")
        path.focus()
        await pilot.press("enter")
        await wait_for_group(pilot, "export")
        assert stat.S_IMODE((other / "panel.srt").stat().st_mode) == OUTPUT_MODE
        assert any("saved panel.srt in" in line for line in app.query_one(SSELog).lines)

        # Next time: the folder used last.
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), 5, "the dialog")
        assert app.screen.query_one("#path", Input).value == str(other / "panel.md")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

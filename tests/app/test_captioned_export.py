"""The export dialog's "MP4, captions in the picture": frame choice, progress, Ctrl+G cancels."""

from __future__ import annotations

from pathlib import Path

import av
from textual.widgets import ProgressBar, Select

from tests.app.driving import type_text, wait_for, wait_for_group
from tests.backend.conftest import db
from tui.app.app import make_app
from tui.app.dialogs.export import ExportScreen, RenderScreen, time_left
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.sse_log import SSELog


async def _export_dialog(pilot, app, target: Path, resolution: str) -> None:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), 5, "the export dialog")
    dialog = app.screen
    assert not dialog.query_one("#video-options").display  # md first: no frame to choose
    dialog.query_one("#format", Select).value = "captioned"
    await pilot.pause()
    assert dialog.query_one("#video-options").display
    assert str(dialog.query_one("#path").value).endswith("demo.captioned.mp4")
    dialog.query_one("#frame", Select).value = resolution
    dialog.query_one("#path").value = ""
    dialog.query_one("#path").focus()
    await type_text(pilot, str(target))
    await pilot.press("enter")


async def test_captioned_export_shows_progress_cancels_then_saves(
    live_server, demo_folder: Path, tmp_path: Path
) -> None:
    app = make_app(demo_folder, server=live_server.url, token_file=tmp_path / "token.json")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        browser = app.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.root.children, 10, "the folder listing")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: browser.statuses.get(demo_folder / "demo.mp4") == "done",
                       120, "the script")  # fmt: skip

        # A vertical render: its progress and time left show; Ctrl+G stops it.
        vertical = tmp_path / "vertical.mp4"
        await _export_dialog(pilot, app, vertical, "1080x1920")
        await wait_for(pilot, lambda: isinstance(app.screen, RenderScreen), 5, "the progress")
        render = app.screen
        await wait_for(pilot, lambda: render.progress > 0, 60, "progress")
        assert 0 < render.query_one(ProgressBar).progress < 1
        assert " left" in str(render.query_one("#render-left").render())
        await pilot.press("ctrl+g")
        await wait_for_group(pilot, "export")
        assert not isinstance(app.screen, RenderScreen) and not vertical.exists()
        assert not list(tmp_path.glob(".vertical*"))
        assert "export cancelled; nothing was kept" in "\n".join(app.query_one(SSELog).lines)
        rows = db(live_server).execute("SELECT status, error FROM exports WHERE format='captioned'"
                                       " AND options LIKE '%1080x1920%'").fetchall()  # fmt: skip
        [(status, error)] = [tuple(r) for r in rows]
        assert status == "failed" and "cancelled" in error  # the server stopped too

        # The video's own size: quick, and saved where asked.
        small = tmp_path / "small.mp4"
        await _export_dialog(pilot, app, small, "source")
        await wait_for(pilot, small.exists, 60, "the captioned export")
        await wait_for_group(pilot, "export")
        with av.open(str(small)) as c:
            cc = c.streams.video[0].codec_context
            assert (cc.width, cc.height) == (320, 180) and c.streams.audio
        await pilot.press("ctrl+q")


def test_time_left_reads_well() -> None:
    assert time_left(None) == "estimating the time left"
    assert time_left(42.4) == "42 s left"
    assert time_left(75) == "1 min 15 s left"


def test_the_render_keys_have_ids_and_tooltips() -> None:
    assert all(b.id and b.tooltip for b in RenderScreen.BINDINGS)
    assert "ctrl+g" in {b.key for b in RenderScreen.BINDINGS}

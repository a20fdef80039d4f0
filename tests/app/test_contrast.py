"""Focus and text are readable in both themes, judged on the colours actually drawn.

Every status, log kind and footer key is put on screen, then each cell's
foreground and background are read back from the rendered screen (not from
the theme's variables): text must reach 4.5:1, the focused pane's border 3:1.
Box-drawing (tree guides, separators) is decoration and not judged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Footer

from tests.app.contrast import cells_in, screen_cells
from tests.app.sample import sample_state
from tui.app.app import make_app
from tui.app.panes.file_browser import STATUSES, FileBrowser
from tui.app.panes.sse_log import KINDS, SSELog
from tui.client.types import SessionState

TEXT, BORDER = 4.5, 3.0


def _decoration(char: str) -> bool:
    return not char.strip() or 0x2500 <= ord(char) <= 0x259F


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_focus_and_text_are_readable(theme: str, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for status in STATUSES:
        (folder / f"{status}.mp4").write_bytes(b"\0" * 1000)
    app = make_app(folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        browser = app.query_one(FileBrowser)
        for status in STATUSES:
            browser.set_status((folder / f"{status}.mp4").resolve(), status)
        log = app.query_one(SSELog)
        log.action_toggle_verbose()  # the raw kinds too
        for kind in KINDS:
            log.add(kind, f"a {kind} line", datetime(2026, 1, 5, 9, 30))
        log.progress("transcribing", 0.4, 30, datetime(2026, 1, 5, 9, 31), job_id="j1")
        app.theme = theme
        await pilot.pause()

        for key, pane in (("f2", "files"), ("f3", "log"), ("f4", "timeline"), ("f5", "script")):
            await pilot.press(key)
            await pilot.pause()
            region = app.query_one(f"#{pane}").region
            corner = screen_cells(app)[region.y][region.x]
            assert corner.char == "┏", (pane, corner)
            assert corner.contrast >= BORDER, (theme, pane, corner, corner.contrast)

        grid = screen_cells(app)
        for name, widget in (
            ("files", browser),
            ("log", log.query_one("#log-lines")),
            ("stage", log.query_one("#log-stage")),
            ("footer", app.query_one(Footer)),
        ):
            cells = [c for c in cells_in(grid, widget.content_region) if not _decoration(c.char)]
            assert cells, name
            worst = min(cells, key=lambda c: c.contrast)
            assert worst.contrast >= TEXT, (theme, name, worst, round(worst.contrast, 2))

"""At 80×24 every row, dialog and footer reads whole: long names lose their middle,
questions wrap, each pane's keys fit the footer."""

from __future__ import annotations

import random
from pathlib import Path

from tests.app.sample import sample_state
from tests.app.screen_text import screen_text
from tui.app.app import make_app
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.panes.file_browser import FileBrowser
from tui.client.types import SessionState

LONG = "panel discussion with the mayor.mov"


async def test_rows_dialogs_and_footer_fit_80x24(tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / LONG).write_bytes(random.Random(7).randbytes(427_000))
    app = make_app(folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        app.query_one(FileBrowser).set_status((folder / LONG).resolve(), "done")
        await pilot.pause()
        probes = [w for w in app.workers if w.group == "probe"]
        if probes:  # (an empty list would wait for every worker, the tree's loader too)
            await app.workers.wait_for_complete(probes)
        await pilot.pause()
        rows = screen_text(app).splitlines()
        [row] = [r for r in rows if "✓" in r]
        files_pane = row.split("│")[0] if "│" in row else row[:30]
        assert "…" in files_pane and "r.mov" in files_pane, row
        assert "417K" in files_pane, row  # size and duration still there

        for key, first in (("f2", "Script"), ("f3", "Clear log"), ("f4", "Turn"), ("f5", "Undo")):
            await pilot.press(key)
            await pilot.pause()
            footer = screen_text(app).splitlines()[-1]
            assert first in footer and footer.rstrip().endswith("Help"), (key, footer)

        # The quit question, with both worries, wraps inside its dialog.
        await pilot.press("f5", "x")
        app.query_one(FileBrowser).statuses[(folder / LONG).resolve()] = "working"
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        label = app.screen.query_one(".dialog-question")
        region = label.content_region
        rows = screen_text(app).splitlines()[region.y : region.bottom]
        shown = " ".join(" ".join(row[region.x : region.right].split()) for row in rows)
        assert shown == " ".join(app.screen.question.split()), shown
        assert "A job is running" in shown and shown.endswith("Quit?")

"""Snapshot tests: each pane at 80x24, the whole app at 80x24 and 120x40 in the dark and
the light theme, and the help screen, from fixed data.

Nothing here reads a clock or a backend: the state is hand-built
(tests/app/sample.py) and log lines carry fixed times.  Update the SVGs with
``pytest tests/app --snapshot-update`` after checking the differences by eye.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from tests.app.pane_app import PaneApp
from tests.app.sample import sample_script, sample_state
from tui.app.app import make_app
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.sse_log import SSELog
from tui.app.panes.timeline import Timeline
from tui.client.types import Draft, SessionState

T0 = datetime(2026, 1, 5, 9, 30, 0)


async def _settle(pilot: Pilot) -> None:
    """Stop cursors blinking and wait for every worker (duration probes)."""
    for widget in pilot.app.query("TextArea, Input").results():
        assert isinstance(widget, (TextArea, Input))
        widget.cursor_blink = False
    await pilot.pause()
    # The tree's own loader never ends; wait for the rest (the duration probes).
    probes = [w for w in pilot.app.workers if w.group == "probe"]
    if probes:  # an empty list would mean "all workers"
        await pilot.app.workers.wait_for_complete(probes)
    await pilot.pause()


def _fill_log(log: SSELog) -> None:
    log.add("you", "extract a full written script with speaker labels", T0)
    log.add("call", "extract_script({'video': 'council.mp4'})", T0.replace(second=1))
    log.add("done", "council.mp4: script ready, 2 speakers", T0.replace(second=15))
    log.progress("transcribing", 0.43, 72, T0.replace(second=20))
    log.heartbeat(T0.replace(second=35))


def test_files_pane(snap_compare, media_folder: Path) -> None:
    browser = FileBrowser(media_folder)

    async def run_before(pilot: Pilot) -> None:
        browser.set_status(media_folder / "council.mp4", "done")
        browser.set_status(media_folder / "interview.wav", "working")
        await pilot.press("down", "down", "space")
        await _settle(pilot)

    assert snap_compare(PaneApp(browser, "Files"), terminal_size=(80, 24), run_before=run_before)


def test_log_pane(snap_compare) -> None:
    log = SSELog()

    async def run_before(pilot: Pilot) -> None:
        _fill_log(log)
        await _settle(pilot)

    assert snap_compare(PaneApp(log, "Log"), terminal_size=(80, 24), run_before=run_before)


def test_timeline_pane(snap_compare) -> None:
    timeline = Timeline()

    async def run_before(pilot: Pilot) -> None:
        timeline.show(Draft.from_dict(sample_state()["draft"]), sample_script())
        timeline.focus()
        await pilot.press("shift+right", "shift+right", "shift+right", "plus")
        await _settle(pilot)

    assert snap_compare(
        PaneApp(timeline, "Timeline"), terminal_size=(80, 24), run_before=run_before
    )


def test_script_pane(snap_compare) -> None:
    editor = ScriptEditor()

    async def run_before(pilot: Pilot) -> None:
        editor.load_script(sample_script())
        editor.focus()
        await _settle(pilot)

    assert snap_compare(PaneApp(editor, "Script"), terminal_size=(80, 24), run_before=run_before)


def _whole_app(media_folder: Path):
    app = make_app(media_folder, autoconnect=False)

    async def run_before(pilot: Pilot) -> None:
        app.show_state(SessionState.from_dict(sample_state()))
        _fill_log(app.query_one(SSELog))
        app.query_one(FileBrowser).set_status(media_folder / "council.mp4", "done")
        await _settle(pilot)

    return app, run_before


def test_whole_app(snap_compare, media_folder: Path) -> None:
    app, run_before = _whole_app(media_folder)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_whole_app_80x24(snap_compare, media_folder: Path) -> None:
    app, run_before = _whole_app(media_folder)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_whole_app_light(snap_compare, media_folder: Path) -> None:
    app, fill = _whole_app(media_folder)

    async def run_before(pilot: Pilot) -> None:
        await fill(pilot)
        app.theme = "textual-light"
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_help_screen_80x24(snap_compare, media_folder: Path) -> None:
    app, fill = _whole_app(media_folder)

    async def run_before(pilot: Pilot) -> None:
        await fill(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_whole_app_light_80x24(snap_compare, media_folder: Path) -> None:
    app, fill = _whole_app(media_folder)

    async def run_before(pilot: Pilot) -> None:
        await fill(pilot)
        app.theme = "textual-light"
        await pilot.press("4")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

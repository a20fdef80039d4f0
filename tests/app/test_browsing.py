"""Small things a daily user meets: Enter on the folder row, going up and elsewhere,
Ctrl+N on the speaker under the cursor, Enter elsewhere with unsaved edits."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select

from tests.app.driving import type_text
from tests.app.sample import sample_script, sample_state
from tui.app.app import make_app
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.dialogs.speakers import SpeakersScreen
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.client.types import SessionState


async def _listed(pilot, browser: FileBrowser) -> None:
    for _ in range(100):
        if browser.root.children:
            return
        await pilot.pause(0.05)
    raise AssertionError("the folder was not listed")


async def test_the_folder_row_never_folds_and_other_folders_open(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        browser = app.query_one(FileBrowser)
        await _listed(pilot, browser)
        assert browser.cursor_node is browser.root
        await pilot.press("enter")  # the first Enter: the list stays open
        assert browser.root.is_expanded and browser.cursor_node is not browser.root

        await pilot.press("backspace")  # up to the parent folder
        await pilot.pause()
        assert Path(browser.path) == media_folder.parent.resolve()

        await pilot.press("f6")
        await type_text(pilot, f"open {media_folder / 'archive'}")
        await pilot.press("enter")
        await pilot.pause()
        assert Path(browser.path) == (media_folder / "archive").resolve()


async def test_ctrl_n_starts_on_the_speaker_under_the_cursor(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        editor = app.query_one(ScriptEditor)
        await pilot.press("f5")
        editor.go_to_time(sample_script().turns[1].start_ms)  # Speaker 2's turn
        editor._following = False
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SpeakersScreen)
        assert app.screen.query_one("#speaker", Select).value == "S2"


async def test_enter_on_another_file_with_unsaved_edits_offers_to_discard(
    media_folder: Path,
) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        state = sample_state()
        other = sample_script()
        other.video_id, other.source = "v2", "interview.wav"
        state["scripts"]["v2"] = other.to_dict()
        app.show_state(SessionState.from_dict(state))
        app.video_ids[(media_folder / "interview.wav").resolve()] = "v2"
        editor = app.query_one(ScriptEditor)
        await pilot.press("f5")
        await type_text(pilot, "x")
        assert editor.dirty
        app.editing.show_script_of((media_folder / "interview.wav").resolve())
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.screen.id == "confirm-discard"
        await pilot.press("y")
        await pilot.pause()
        assert editor.script.video_id == "v2" and not editor.dirty

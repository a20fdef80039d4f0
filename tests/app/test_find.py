"""Ctrl+F in the Script pane: find text, step through the matches, go back to editing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label

from tests.app.driving import type_text
from tests.app.sample import sample_state
from tui.app.app import make_app
from tui.app.panes.find_bar import FindBar, matches
from tui.app.panes.script_editor import ScriptEditor
from tui.client.types import SessionState


def test_matches_ignore_case_in_any_script() -> None:
    assert matches("The bridge, the steel; THE end", "the") == [(0, 3), (12, 15), (23, 26)]
    assert matches("把 Speaker 1 改名为 王芳。王芳说", "王芳") == [(16, 18), (19, 21)]
    assert matches("a.b axb", "a.b") == [(0, 3)]  # the text as typed, not a pattern
    assert matches("anything", "") == []


async def test_find_steps_through_the_matches_and_returns_to_the_script(
    media_folder: Path,
) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        editor = app.query_one(ScriptEditor)
        bar = app.query_one(FindBar)
        assert not bar.display
        await pilot.press("f5", "ctrl+f")
        assert bar.display and isinstance(app.focused, Input)
        await type_text(pilot, "the")
        count = bar.query_one("#find-count", Label)
        total = editor.text.lower().count("the")
        assert total >= 4
        assert str(count.render()) == f"1 of {total}"
        assert editor.selected_text.lower() == "the"
        first = editor.selection

        await pilot.press("enter")
        assert str(count.render()) == f"2 of {total}" and editor.selection != first
        await pilot.press("up", "up")  # back to the first, then round to the last
        assert str(count.render()) == f"{total} of {total}"
        assert editor.selected_text.lower() == "the"

        await type_text(pilot, "zzz")
        assert str(count.render()) == "no match"
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press("escape")  # back in the script, on the match
        assert not bar.display and app.focused is editor
        assert editor.selected_text.lower() == "the"
        assert not editor.dirty  # finding changed nothing


async def test_find_sees_the_text_as_edited(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        editor = app.query_one(ScriptEditor)
        await pilot.press("f5")
        editor.move_cursor(editor.document.end)
        await type_text(pilot, " Quixotic")
        await pilot.press("ctrl+f")
        await type_text(pilot, "quixotic")
        assert str(app.query_one("#find-count", Label).render()) == "1 of 1"
        assert editor.selected_text == "Quixotic"
        await pilot.press("escape")
        assert editor.dirty  # the edit is still there, unsaved

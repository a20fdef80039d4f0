"""Ctrl+F in the Script pane: find text, step through the matches, go back to editing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label

from tests.app.driving import type_text
from tests.app.sample import sample_state
from tui.app.app import make_app
from tui.app.panes.find_bar import FindBar, matches
from tui.app.panes.script_editor import ScriptEditor
from tui.client.types import SessionState
from tui.engine.writing import replace_text


@asynccontextmanager
async def script_shown(
    folder: Path, size: tuple[int, int] = (120, 40)
) -> AsyncIterator[tuple[App[object], Pilot, ScriptEditor]]:
    """The app with the sample script in its Script pane."""
    app = make_app(folder, autoconnect=False)
    async with app.run_test(size=size) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        yield app, pilot, app.query_one(ScriptEditor)


def test_matches_ignore_case_in_any_script() -> None:
    assert matches("The bridge, the steel; THE end", "the") == [(0, 3), (12, 15), (23, 26)]
    assert matches("把 Speaker 1 改名为 王芳。王芳说", "王芳") == [(16, 18), (19, 21)]
    assert matches("a.b axb", "a.b") == [(0, 3)]  # the text as typed, not a pattern
    assert matches("anything", "") == []
    assert matches("they saw the theme", "the", whole_words=True) == [(9, 12)]
    assert matches("王芳说", "王芳", whole_words=True) == [(0, 2)]  # no spaces in Chinese


def test_whole_words_hold_in_every_spaced_script() -> None:
    # Accented Latin, Cyrillic and a decomposed accent are letters too: "Ren" is not
    # a word of "René", nor "José" of "Josélito".
    assert matches("René and Ren", "Ren", whole_words=True) == [(9, 12)]
    assert matches("Josélito, José", "José", whole_words=True) == [(10, 14)]
    assert matches("Rene\u0301 Rene", "Rene", whole_words=True) == [(6, 10)]
    assert matches("Иванов и Иван", "Иван", whole_words=True) == [(9, 13)]
    assert matches("说the话 they", "the", whole_words=True) == [(1, 4)]


async def test_find_steps_through_the_matches_and_returns_to_the_script(
    media_folder: Path,
) -> None:
    async with script_shown(media_folder) as (app, pilot, editor):
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

        await pilot.press("tab", "space")  # whole words only: "they", "there" no longer
        assert app.query_one("#find-words", Checkbox).value
        words = len(re.findall(r"(?i)\bthe\b", editor.text))
        assert 0 < words < total and str(count.render()).endswith(f" of {words}")
        assert editor.selected_text.lower() == "the"  # the match nearest where it was
        await pilot.press("space", "shift+tab")  # back to any "the", and to the text field
        assert str(count.render()).endswith(f" of {total}") and isinstance(app.focused, Input)

        await type_text(pilot, "zzz")
        assert str(count.render()) == "no match"
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press("escape")  # back in the script, on the match
        assert not bar.display and app.focused is editor
        assert editor.selected_text.lower() == "the"
        assert not editor.dirty  # finding changed nothing


async def test_find_sees_the_text_as_edited(media_folder: Path) -> None:
    async with script_shown(media_folder) as (app, pilot, editor):
        await pilot.press("f5")
        editor.move_cursor(editor.document.end)
        await type_text(pilot, " Quixotic")
        await pilot.press("ctrl+f")
        await type_text(pilot, "quixotic")
        assert str(app.query_one("#find-count", Label).render()) == "1 of 1"
        assert editor.selected_text == "Quixotic"
        await pilot.press("escape")
        assert editor.dirty  # the edit is still there, unsaved


def test_replace_text_takes_every_match_as_typed() -> None:
    assert replace_text("Shiela said: shiela!", "shiela", "Sheila") == ("Sheila said: Sheila!", 2)
    assert replace_text("王芳 and 王芳", "王芳", "Wang Fang") == ("Wang Fang and Wang Fang", 2)
    assert replace_text("a\\1b", "a", "\\1") == ("\\1\\1b", 1)  # the replacement as typed
    assert replace_text("text", "", "x") == ("text", 0)
    assert replace_text("Al also said", "al", "Allen", whole_words=True) == ("Allen also said", 1)


async def test_replace_all_is_one_edit_that_undo_takes_back(media_folder: Path) -> None:
    async with script_shown(media_folder, (80, 24)) as (app, pilot, editor):
        original = editor.text
        total = original.lower().count("agenda")
        assert total == 2
        await pilot.press("f5", "ctrl+f")
        await type_text(pilot, "agenda")
        await pilot.press("tab", "tab")  # past "words", to the replace field
        assert app.focused is app.query_one("#replace-input")
        await type_text(pilot, "Agenda")
        await pilot.press("enter")
        assert str(app.query_one("#find-count", Label).render()) == "2 replaced"
        assert editor.text == original.replace("agenda", "Agenda") and editor.dirty
        await pilot.press("escape")
        assert app.focused is editor
        await pilot.press("ctrl+z")  # the whole replacement, in one step
        assert editor.text == original and not editor.dirty

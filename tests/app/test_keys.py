"""Keys that never type into text by accident, the unsaved marker, help (F1/?), Escape, palette."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import HelpPanel, Input

from tests.app.driving import type_text
from tests.app.sample import sample_state
from tui.app.app import make_app
from tui.app.dialogs.help import HelpScreen
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.prompt_bar import PromptBar
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.timeline import Timeline
from tui.client.types import SessionState


async def test_pane_keys_work_from_text_without_typing(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        editor = app.query_one(ScriptEditor)
        text = editor.text
        await pilot.press("f5")
        assert app.focused is editor
        for key, pane in [("f2", FileBrowser), ("f5", ScriptEditor), ("f4", Timeline)]:
            await pilot.press(key)
            assert isinstance(app.focused, pane), key
        await pilot.press("f5", "alt+1")
        assert isinstance(app.focused, FileBrowser)
        await pilot.press("f6")
        assert isinstance(app.focused, PromptBar)
        await pilot.press("f5")
        assert editor.text == text and app.query_one(PromptBar).value == ""
        assert editor.border_title == "Script"

        # Typing is marked as unsaved in the pane's title.
        await type_text(pilot, "x")
        assert editor.dirty and "unsaved" in str(editor.border_title)
        await pilot.press("ctrl+z")
        assert not editor.dirty and editor.border_title == "Script"


async def test_help_lists_every_key_and_escape_closes_panels(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        listed = " ".join(keys for keys, _, _ in app.screen.rows())
        for key in ("F1", "F2", "Ctrl+S", "Ctrl+O", "Ctrl+N", "Ctrl+G", "Ctrl+Q", "Space"):
            assert key in listed, key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")  # outside text, ? helps too
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")

        before = app.query_one("#script").region
        app.action_show_help_panel()
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        assert app.query_one("#script").region == before  # over the panes, not squeezing
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)


async def test_the_palette_shows_each_actions_key(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "save"
        await pilot.pause(0.5)
        shown = " ".join(str(o.prompt) for o in app.screen.query_one("CommandList").options)
        assert "Save" in shown and "(Ctrl+S)" in shown, shown


async def test_the_prompt_bar_says_how_to_reach_it_until_it_is_reached(media_folder: Path) -> None:
    """Typing into a pane presses its keys; the unfocused prompt bar says which key leads to
    it, and once there it shows what to ask."""
    from tui.app.panes.prompt_bar import PLACEHOLDER, UNFOCUSED

    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(PromptBar)
        assert not bar.has_focus and bar.placeholder == UNFOCUSED
        assert UNFOCUSED.startswith("F6 or 5 to ask")
        await pilot.press("5")
        assert app.focused is bar and bar.placeholder == PLACEHOLDER
        await pilot.press("f2")
        assert isinstance(app.focused, FileBrowser) and bar.placeholder == UNFOCUSED
        await pilot.press("f6")
        assert app.focused is bar and bar.placeholder == PLACEHOLDER

"""The app: the rename dialog's box remembers the voice (unticked: nothing is remembered,
and no question follows the dialog); the Voices screen (Ctrl+R, or the palette) lists,
renames and forgets it -- all through a real backend."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, DataTable, Input, Select

from tests.app.driving import type_text, wait_for, wait_for_group
from tui.app.app import make_app
from tui.app.commands import actions
from tui.app.dialogs.speakers import SpeakersScreen
from tui.app.dialogs.voices import VoicesScreen
from tui.app.panes.script_editor import ScriptEditor
from tui.client.http import Client
from tui.engine.script import Script

from .conftest import DATA, reference


async def _with_script(
    pilot, app, url: str, token_file: Path
) -> tuple[ScriptEditor, Script, Script]:
    """The app's session holds conv_3spk_quiet's upload and its reference script, shown:
    (the editor, the reference script with its people, the script as saved)."""
    await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
    sid = app.connection.session_id
    async with Client(url, token_file=token_file) as api:
        video_id = (await api.upload_files(sid, [DATA / "conv_3spk_quiet.webm"]))[0]["video_id"]
        _, script = reference("conv_3spk_quiet")
        script.video_id = video_id
        saved = Script.from_dict(await api.put_script(sid, script.to_dict()))
    editor = app.query_one(ScriptEditor)
    editor.load_script(saved)
    return editor, script, saved


async def _names(app) -> list[str]:
    """The names of the voices the app's identity has remembered, as the API lists them."""
    return [v["name"] for v in (await app.connection.voices("GET", "/api/voices"))["voices"]]


async def _until_names(pilot, app, expected: list[str], tries: int = 600) -> None:
    """Wait (0.1 s a try) until the remembered voices are ``expected``; assert they are."""
    for _ in range(tries):
        if await _names(app) == expected:
            break
        await pilot.pause(0.1)
    assert await _names(app) == expected


async def test_rename_remembers_and_the_voices_screen(live_server, tmp_path: Path) -> None:
    token_file = tmp_path / "token.json"
    app = make_app(tmp_path, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(120, 40)) as pilot:
        editor, script, saved = await _with_script(pilot, app, live_server.url, token_file)
        pedersen = next(s for s, p in script.people.items() if p == "pedersen")  # type: ignore[attr-defined]

        async def rename(name: str, remember: bool) -> None:
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: isinstance(app.screen, SpeakersScreen), 10, "dialog")
            app.screen.query_one("#speaker", Select).value = pedersen
            box = app.screen.query_one("#remember", Checkbox)
            assert box.value is False  # remembering is the user's explicit choice
            if remember:
                await pilot.click("#remember")
                assert box.value is True
            app.screen.query_one("#new-name", Input).focus()
            await type_text(pilot, name)
            await pilot.press("enter")
            await wait_for_group(pilot, "save")
            await wait_for_group(pilot, "remember-voice")
            # No question follows the dialog: the next keys go to the script again.
            assert app.screen is app.screen_stack[0]

        await rename("Sheila", remember=False)
        assert editor.script.speakers[pedersen] == "Sheila" and await _names(app) == []
        await rename("Sheila", remember=True)

        await _until_names(pilot, app, ["Sheila"])

        assert any(a.action == "voices" and a.keys == "Ctrl+R" for a in actions(app))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, VoicesScreen), 10, "Voices")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, 30, "the voice listed")
        assert [str(c) for c in table.get_row_at(0)[:2]] == ["Sheila", "1"]
        app.screen.query_one("#voice-name", Input).focus()
        await type_text(pilot, "Sheila Roe")
        await pilot.press("enter")
        await _until_names(pilot, app, ["Sheila Roe"], tries=300)
        await wait_for(pilot, lambda: str(table.get_row_at(0)[0]) == "Sheila Roe", 30, "row")
        await pilot.click("#voice-forget")
        await wait_for(pilot, lambda: table.row_count == 0, 30, "the voice forgotten")
        assert await _names(app) == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, VoicesScreen), 10, "closed")


async def test_a_rename_in_the_prompt_asks_to_remember_the_voice(
    live_server, tmp_path: Path, monkeypatch
) -> None:
    """ "rename Speaker 2 to Sheila" in the prompt bar: the app asks once whether to remember
    the voice (unset setting; "Not now" is the default answer); with the setting "never" it
    does not ask and remembers nothing."""
    from tui.app.dialogs.confirm import ConfirmScreen

    monkeypatch.delenv("REELSCRIPT_REMEMBER_VOICES", raising=False)
    token_file = tmp_path / "token.json"
    app = make_app(tmp_path, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(120, 40)) as pilot:
        editor, script, saved = await _with_script(pilot, app, live_server.url, token_file)
        people = script.people  # type: ignore[attr-defined]
        pedersen = next(s for s, p in people.items() if p == "pedersen")
        other = next(s for s, p in people.items() if p != "pedersen")

        async def say(text: str) -> None:
            await pilot.press("f6")
            await type_text(pilot, text)
            await pilot.press("enter")
            await wait_for_group(pilot, "job")

        await say(f"rename {saved.speakers[pedersen]} to Sheila")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the question")
        assert app.screen.id == "confirm-remember" and "Sheila" in str(app.screen.question)
        await pilot.press("y")
        await wait_for_group(pilot, "remember-voice")
        await _until_names(pilot, app, ["Sheila"])
        assert editor.script is not None and editor.script.speakers[pedersen] == "Sheila"

        monkeypatch.setenv("REELSCRIPT_REMEMBER_VOICES", "never")
        await say(f"rename {saved.speakers[other]} to Ray")
        await wait_for(
            pilot, lambda: editor.script is not None and editor.script.speakers[other] == "Ray", 30,
            "the rename",
        )  # fmt: skip
        await pilot.pause(0.5)
        assert app.screen is app.screen_stack[0]  # no question
        assert await _names(app) == ["Sheila"]

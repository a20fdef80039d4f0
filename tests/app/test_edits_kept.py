"""Re-scripting a file whose script holds the user's edits asks first, and keeping costs nothing."""

from __future__ import annotations

from pathlib import Path

from tests.app.driving import type_text, wait_for, wait_for_group
from tests.backend.media import make_video
from tui.app.app import make_app
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.sse_log import SSELog
from tui.client.http import Client

README_PROMPT = "extract a full written script from this video with speaker labels"


async def test_the_readme_prompt_asks_before_replacing_an_edited_script(
    live_server, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    video = make_video(folder / "panel.mp4", seconds=2.0)
    token_file = tmp_path / "token.json"
    app = make_app(folder, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        app.jobs.submit_files([video])
        await wait_for_group(pilot, "job")
        browser = app.query_one(FileBrowser)
        assert browser.statuses[video] == "done"

        # Someone edits the script (here: through the API, as another editor would).
        async with Client(live_server.url, token_file=token_file) as api:
            script = (await api.state(app.connection.session_id))["script"]
            script["speakers"] = {**script["speakers"], "S7": "Diane"}
            edited = await api.put_script(app.connection.session_id, script)
            credits = await api.credits()
        jobs = len((await app.connection.state()).jobs)

        # The README's prompt: a question, not a new job.
        await pilot.press("5")
        await type_text(pilot, README_PROMPT)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the keep/replace question"
        )
        assert app.screen.id == "confirm-replace"
        await pilot.press("n")  # keep my edits
        await wait_for_group(pilot, "job")
        state = await app.connection.state()
        assert len(state.jobs) == jobs
        assert state.script["revision"] == edited["revision"]
        assert "Diane" in state.script["speakers"].values()
        assert app.query_one(ScriptEditor).script.revision == edited["revision"]
        assert browser.statuses[video] == "done"
        assert any("keep" in line for line in app.query_one(SSELog).lines)
        async with Client(live_server.url, token_file=token_file) as api:
            assert await api.credits() == credits

        # Asked again, and this time replaced: a new job, a new revision.
        await pilot.press("5")
        await type_text(pilot, README_PROMPT)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the question")
        await pilot.press("y")
        await wait_for_group(pilot, "job")
        state = await app.connection.state()
        assert len(state.jobs) == jobs + 1
        assert state.script["revision"] == edited["revision"] + 1

"""`w` in the app: files the app has scripted are written from their (edited) script, never
scripted again; Enter on a file the watcher scripted shows that script instead of redoing it."""

from __future__ import annotations

from pathlib import Path

from tests.app.driving import record_statuses, wait_for, wait_for_group
from tests.backend.media import make_video
from tui.app.app import make_app
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.sse_log import SSELog
from tui.client.http import Client


async def test_watching_keeps_the_scripts_the_app_has(live_server, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    mine = make_video(folder / "panel.mp4", seconds=2.0).resolve()
    token_file = tmp_path / "token.json"
    app = make_app(folder, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        app.jobs.submit_files([mine])
        await wait_for_group(pilot, "job")
        browser = app.query_one(FileBrowser)
        assert browser.statuses[mine] == "done"

        # The user's edit of panel.mp4's script (a turn of their own, a name).
        async with Client(live_server.url, token_file=token_file) as api:
            script = (await api.state(app.connection.session_id))["script"]
            script["speakers"] = {"S1": "Diane"}
            script["turns"] = [
                {
                    "speaker": "S1",
                    "start_ms": 0,
                    "end_ms": 900,
                    "text": "My own words.",
                    "words": [],
                }
            ]
            await api.put_script(app.connection.session_id, script)
        app.jobs.load_state()
        await wait_for_group(pilot, "state")
        jobs = len(app.state.jobs)

        other = make_video(folder / "talk.mp4", seconds=3.0).resolve()
        seen = record_statuses(browser, mine)
        browser.move_cursor(browser.root)
        await pilot.press("1", "w")
        try:
            await wait_for(
                pilot,
                lambda: (folder / "panel.md").exists() and (folder / "talk.md").exists(),
                60,
                "both outputs",
            )
        except AssertionError:
            print("\n".join(app.query_one(SSELog).lines), sorted(folder.iterdir()))
            raise
        assert "My own words." in (folder / "panel.md").read_text()
        assert "Diane" in (folder / "panel.md").read_text()
        assert set(seen) <= {"done"}, seen  # its ✓ never went back to queued
        state = await app.connection.state()
        assert len(state.jobs) == jobs  # nothing scripted again in the app's session
        await wait_for(pilot, lambda: browser.statuses.get(other) == "done", 30, "talk.mp4's ✓")

        # Enter on the file the watcher did: its script, no new job anywhere.
        await wait_for(pilot, lambda: other in browser._path_nodes, 10, "talk.mp4 listed")
        browser.move_cursor(browser._path_nodes[other])
        await pilot.press("enter")
        await wait_for_group(pilot, "job")
        await wait_for_group(pilot, "state")
        editor = app.query_one(ScriptEditor)
        await wait_for(
            pilot,
            lambda: (
                editor.script is not None and editor.script.video_id == app.video_ids.get(other)
            ),
            30,
            "talk.mp4's script in the editor",
        )
        state = await app.connection.state()
        assert len(state.jobs) == jobs
        assert browser.statuses[other] == "done"

"""Quitting while a job runs asks first; the next launch says the job goes on, and what it made."""

from __future__ import annotations

from pathlib import Path

from tests.app.driving import wait_for
from tui.app.app import make_app
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.sse_log import SSELog


async def test_quit_during_a_job_asks_and_the_next_run_says_it_goes_on(
    live_server, demo_folder: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "token.json"
    video = (demo_folder / "demo.mp4").resolve()
    app = make_app(demo_folder, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        app.jobs.submit_files([video])
        browser = app.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.statuses.get(video) == "working", 30, "the job")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the question")
        question = str(app.screen.question)
        assert "A job is running (demo.mp4)" in question and "next time" in question
        await pilot.press("n")  # stay
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the question")
        await pilot.press("y")
    assert app.return_code == 0

    again = make_app(demo_folder, server=live_server.url, token_file=token_file)
    async with again.run_test(size=(100, 32)) as pilot:
        log = again.query_one(SSELog)

        def said(words: str) -> bool:
            return any(words in line for line in log.lines)

        await wait_for(pilot, lambda: said("taken up from the last run"), 30, "the resume")
        await wait_for(pilot, lambda: said("demo.mp4: the job of the last run goes on"), 10, "it")
        await wait_for(pilot, lambda: said("demo.mp4: script ready"), 240, "the job's end")
        browser = again.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.statuses.get(video) == "done", 10, "the badge")
        assert again.script is not None and again.script.turns

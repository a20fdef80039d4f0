"""The app meets the backend's errors (docs/api.md's table) and its own embedded backend."""

from __future__ import annotations

from pathlib import Path

from tests.app.driving import type_text, wait_for, wait_for_group
from tests.backend.media import make_video
from tests.live_server import start_server
from tui.app.app import make_app
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.sse_log import SSELog
from tui.client.local_server import read_info


async def _connected(pilot, app) -> None:
    await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")


async def test_undecodable_file_fails_with_a_clear_line(
    live_server, media_folder: Path, tmp_path: Path
) -> None:
    app = make_app(media_folder, server=live_server.url, token_file=tmp_path / "t.json")
    async with app.run_test(size=(100, 30)) as pilot:
        browser = app.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.root.children, 10, "the folder listing")
        # Enter at once, before the app has its session: the work waits for it.
        await pilot.press("down", "down")  # archive/, then council.mp4 (random bytes)
        assert browser.highlighted_path() == media_folder / "council.mp4"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: browser.statuses.get(media_folder / "council.mp4") == "failed",
            30,
            "the upload to be refused",
        )
        lines = "\n".join(app.query_one(SSELog).lines)
        assert "Unsupported or unreadable file" in lines and "supported: mp4" in lines.lower()
        assert app.query_one(FileBrowser).statuses[media_folder / "council.mp4"] == "failed"
        assert app.is_running  # an error is a message, never a crash


async def test_lost_session_is_replaced_and_credits_are_shown(
    live_server, media_folder: Path, tmp_path: Path
) -> None:
    app = make_app(media_folder, server=live_server.url, token_file=tmp_path / "t.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await _connected(pilot, app)
        app.connection.session_id = "ses_gone_away"  # as after the server's data was reset
        await pilot.press("alt+5")
        await type_text(pilot, "status")
        await pilot.press("enter")
        await wait_for_group(pilot, "state")
        assert app.connection.session_id not in ("", "ses_gone_away")
        assert "the session is empty" in "\n".join(app.query_one(SSELog).lines)
        await type_text(pilot, "credits")
        await pilot.press("enter")
        await wait_for_group(pilot, "credits")
        assert "credits: 10000 available" in "\n".join(app.query_one(SSELog).lines)


async def test_no_credits_says_how_to_get_more(demo_folder: Path, tmp_path: Path) -> None:
    server = start_server(tmp_path / "poor", "--starting-credits", "0")
    try:
        app = make_app(demo_folder, server=server.url, token_file=tmp_path / "t.json")
        async with app.run_test(size=(100, 30)) as pilot:
            await _connected(pilot, app)
            await pilot.press("down", "enter")
            await wait_for_group(pilot, "job")
            lines = "\n".join(app.query_one(SSELog).lines)
            assert "Not enough credits" in lines and "'credits'" in lines
            assert app.query_one(FileBrowser).statuses[demo_folder / "demo.mp4"] == "failed"
    finally:
        server.stop()


async def test_embedded_backend_stops_on_quit(media_folder: Path, tmp_path: Path) -> None:
    app = make_app(media_folder, data_dir=tmp_path / "home", diarizer="none")
    async with app.run_test(size=(80, 24)) as pilot:
        await _connected(pilot, app)
        local = app.connection.local
        assert local is not None and local.owned and local.url.startswith("http://127.0.0.1:")
        assert read_info(tmp_path / "home")["diarizer"] == "none"  # `reelscript --diarizer none`
        process = local.process
        await pilot.press("ctrl+q")
    assert process is not None and process.wait(10) is not None


async def test_ctrl_g_cancels_the_running_job(live_server, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "long"
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "data" / "conv_4spk_phone.webm", folder / "call.webm")
    app = make_app(folder, server=live_server.url, token_file=tmp_path / "t.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await _connected(pilot, app)
        log = app.query_one(SSELog)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: log.stage, 60, "the job to start")
        await pilot.press("ctrl+g")
        await wait_for_group(pilot, "cancel")
        await wait_for_group(pilot, "job")
        # A cancelled job has its own badge, not a failure's.
        assert app.query_one(FileBrowser).statuses[folder / "call.webm"] == "cancelled"
        jobs = app.state.jobs
        assert jobs and jobs[-1].status == "cancelled"


async def test_unreachable_server_is_one_clear_line(media_folder: Path, tmp_path: Path) -> None:
    app = make_app(media_folder, server="http://127.0.0.1:9", token_file=tmp_path / "t.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.connection.failure, 30, "the connection to fail")
        # The failure is set as the connect worker fails; its log line follows when the app
        # handles the worker's error, a moment later.
        await wait_for(
            pilot,
            lambda: (
                "cannot reach the backend at http://127.0.0.1:9" in app.query_one(SSELog).lines[-1]
            ),
            10,
            "the log line that says why",
        )
        await pilot.press("down", "down", "enter")  # work asked for now says why it can't
        await wait_for(
            pilot, lambda: "Reconnect" in app.query_one(SSELog).lines[-1], 10, "the reason"
        )
        await app.run_action("reconnect")
        await wait_for(pilot, lambda: app.connection.failure, 30, "the second try to fail")
        assert app.is_running


async def test_the_last_session_is_taken_up_again_unless_it_is_gone(
    live_server, media_folder: Path, tmp_path: Path
) -> None:
    import json

    from tui.client.session_store import FILE_NAME

    home = tmp_path / "home"

    async def run_once() -> tuple[str, bool]:
        app = make_app(
            media_folder, server=live_server.url, token_file=tmp_path / "t.json", data_dir=home
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await _connected(pilot, app)
            await pilot.press("ctrl+q")
        return app.connection.session_id, app.connection.resumed

    first, resumed = await run_once()
    assert not resumed
    assert await run_once() == (first, True)
    memory = home / FILE_NAME
    saved = json.loads(memory.read_text())
    [entry] = saved.values()
    entry["session_id"] = "ses_gone_away"  # 1002 on the next run: the server forgot it
    memory.write_text(json.dumps(saved))
    third, resumed = await run_once()
    assert not resumed and third not in (first, "ses_gone_away")
    assert [e["session_id"] for e in json.loads(memory.read_text()).values()] == [third]


async def test_a_damaged_video_is_called_damaged_not_unsupported(
    live_server, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    whole = make_video(tmp_path / "whole.mp4", seconds=2.0).read_bytes()
    (folder / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # a download cut short
    app = make_app(folder, server=live_server.url, token_file=tmp_path / "token.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await _connected(pilot, app)
        await pilot.press("down", "enter")
        await wait_for_group(pilot, "job")
        said = "\n".join(app.query_one(SSELog).lines)
        assert "damaged or incomplete" in said, said
        assert "Supported:" not in said and "supported" not in said.lower()
        assert app.query_one(FileBrowser).statuses[(folder / "cut.mp4").resolve()] == "failed"

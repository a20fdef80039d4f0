"""The whole app against a real backend on loopback, driven by keys like a user.

One flow test runs the fixture video through the real pipeline once and then
does everything a user does with the result: read the log, timeline and
script, edit and save, rename a speaker, meet a conflicting edit, export, quit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.driving import type_text, wait_for, wait_for_group
from tui.app.app import make_app
from tui.app.dialogs.conflict import ConflictScreen
from tui.app.dialogs.export import ExportScreen
from tui.app.dialogs.speakers import SpeakersScreen
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.sse_log import SSELog
from tui.app.panes.timeline import Timeline
from tui.client.http import Client


async def test_script_a_video_edit_save_rename_export_quit(
    live_server, demo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token.json"
    app = make_app(demo_folder, server=live_server.url, token_file=token_file)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        browser = app.query_one(FileBrowser)
        await wait_for(
            pilot,
            lambda: browser.cursor_node is not None and browser.root.children,
            10,
            "the folder listing",
        )

        # Files: the video is listed with size and duration; Enter scripts it.
        await pilot.press("down")
        video = demo_folder / "demo.mp4"
        assert browser.highlighted_path() == video
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: browser.statuses.get(video) in ("queued", "working"),
            10,
            "the badge to change",
        )
        await wait_for_group(pilot, "job")
        assert browser.statuses[video] == "done"
        assert browser.durations.get(video, 0) and browser.durations[video] > 20_000

        # Log: the stream's events arrived, time-stamped, with the stages.
        lines = "\n".join(app.query_one(SSELog).lines)
        assert "uploaded demo.mp4" in lines
        # Speaker labelling runs beside recognition, so its own stage may pass in no time.
        assert "stage  transcribing" in lines
        assert "agent" in lines

        # Timeline and script filled from the session state.
        editor = app.query_one(ScriptEditor)
        timeline = app.query_one(Timeline)
        assert editor.script is not None and len(editor.script.turns) >= 2
        assert editor.text.startswith("[00:00:0")
        assert timeline.script is editor.script and timeline.draft.tracks
        revision = editor.script.revision

        # Edit the first turn by typing, save with Ctrl+S: words re-aligned, new revision.
        await pilot.press("4")
        assert app.focused is editor
        first_line = editor.document.get_line(0)
        editor.move_cursor((0, len(first_line)))
        await type_text(pilot, " Indeed.")
        assert editor.dirty
        await pilot.press("ctrl+s")
        await wait_for_group(pilot, "save")
        assert not editor.dirty
        assert editor.script.revision == revision + 1
        first = editor.script.turns[0]
        assert first.text.endswith("Indeed.")
        assert first.words[-1].w == "Indeed." and first.words[-1].e <= first.end_ms
        # The save kept the undo history: Ctrl+Z takes the typing back, Ctrl+Y redoes it.
        await pilot.press("ctrl+z")
        assert "Indeed." not in editor.document.get_line(0) and editor.dirty
        for _ in range(len(" Indeed.")):
            if not editor.dirty:
                break
            await pilot.press("ctrl+y")
        assert not editor.dirty

        # Rename the first speaker from the dialog; the timeline lane follows.
        speaker = first.speaker
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SpeakersScreen)
        await type_text(pilot, "Diane")
        await pilot.press("enter")
        await wait_for_group(pilot, "save")
        assert editor.script.speakers[speaker] == "Diane"
        assert "] Diane: " in editor.text
        assert ("S1", "Diane") in timeline._speakers() or (speaker, "Diane") in timeline._speakers()

        # Someone else saves meanwhile: our save meets a 409, both versions shown,
        # and the user's text is never dropped.
        async with Client(live_server.url, token_file=token_file) as other:
            state = await other.state(app.connection.session_id)
            theirs = state["script"]
            theirs["speakers"][speaker] = "Dee"
            await other.put_script(app.connection.session_id, theirs)
        editor.move_cursor((0, len(editor.document.get_line(0))))
        await type_text(pilot, " Yes.")
        mine = editor.text
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen), 10, "the 409 dialog")
        assert "Dee:" in app.screen.theirs and app.screen.mine == mine
        await pilot.press("escape")  # keep editing
        assert editor.text == mine and editor.dirty
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen), 10, "the 409 dialog")
        await pilot.click("#mine")
        await wait_for(pilot, lambda: not editor.dirty, 10, "saving over")
        assert editor.script.turns[0].text.endswith("Indeed. Yes.")

        # Export from the prompt bar: "export srt" asks where, then downloads there.
        target = tmp_path / "out" / "talk.srt"
        target.parent.mkdir()
        await pilot.press("alt+5")
        await type_text(pilot, "export srt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), 5, "the export dialog")
        await type_text(pilot, str(target))
        await pilot.press("enter")
        await wait_for_group(pilot, "export")
        srt = target.read_text()
        assert "-->" in srt and "Diane" in srt and "Yes." in srt

        # Free text goes to the agent through /run_sse; the script follows.  An export
        # asked for in the same words lands in the folder last exported to (else the
        # video's), never over a file; not in the folder the app was started from.
        workdir = target.parent
        (workdir / "demo.txt").write_text("mine\n")
        monkeypatch.chdir(tmp_path)
        await pilot.press("alt+5")
        await type_text(pilot, "rename Speaker 2 to Sheila and export txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "] Sheila: " in editor.text, 30, "the agent's rename")
        await wait_for(pilot, lambda: (workdir / "demo.2.txt").exists(), 30, "the export")
        assert "Sheila" in (workdir / "demo.2.txt").read_text()
        assert (workdir / "demo.txt").read_text() == "mine\n"
        assert any(line.split()[1] == "agent" for line in app.query_one(SSELog).lines[-8:])
        # A rename in words asks whether to remember the voice: not now.
        await wait_for(pilot, lambda: app.screen.id == "confirm-remember", 30, "the question")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], 10, "the answer")

        # Enter on a file this session has scripted shows its script, without redoing it.
        await pilot.press("alt+1", "enter")
        await wait_for(
            pilot,
            lambda: "showing the script of demo.mp4" in app.query_one(SSELog).lines[-1],
            10,
            "the script to be shown",
        )

        # Merge from the same dialog: every turn of Diane goes to Sheila.
        await pilot.press("ctrl+n", "tab", "enter")  # to "merge into", open its list
        await pilot.press("down", "down", "enter")  # past "another speaker" and Diane: Sheila
        await pilot.click("#merge")
        await wait_for_group(pilot, "save")
        assert set(editor.script.speakers.values()) == {"Sheila"}
        assert "] Diane: " not in editor.text and [name for _, name in timeline._speakers()] == [
            "Sheila"
        ]

        # Quit: nothing unsaved, so no question.
        session_id = app.connection.session_id
        await pilot.press("ctrl+q")
    assert app.return_code == 0

    # Opened again (same data dir, same backend): the work is still there.
    again = make_app(demo_folder, server=live_server.url, token_file=token_file)
    async with again.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: again.connection.session_id, 30, "a session")
        assert again.connection.session_id == session_id and again.connection.resumed
        browser = again.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.statuses.get(video) == "done", 10, "the badge")
        editor = again.query_one(ScriptEditor)
        await wait_for(pilot, lambda: "] Sheila: " in editor.text, 10, "the script")
        await pilot.press("down", "enter")  # shown again, not scripted again
        await wait_for(
            pilot,
            lambda: "showing the script of demo.mp4" in again.query_one(SSELog).lines[-1],
            10,
            "the script to be shown",
        )
        assert not [w for w in again.workers if w.group == "job"]
        await pilot.press("ctrl+q")


async def test_a_prompt_naming_a_file_uploads_scripts_and_exports_it(
    live_server, demo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Enter on the file first: the prompt names it, the app uploads it, the agent
    scripts it, then exports the new script (saved beside the video)."""
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_folder, server=live_server.url, token_file=tmp_path / "token.json")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        await pilot.press("alt+5")
        await type_text(pilot, "transcribe demo.mp4 and export txt")
        await pilot.press("enter")
        video = (demo_folder / "demo.mp4").resolve()
        browser = app.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.statuses.get(video) == "done", 120, "the script")
        # (30 s was too short once, with both cores busy with other work beside the suite)
        await wait_for(pilot, lambda: (demo_folder / "demo.txt").exists(), 120, "the export")
        assert "Speaker 1" in (demo_folder / "demo.txt").read_text()
        assert not (tmp_path / "demo.txt").exists()  # not where the app was started
        assert "] Speaker 1: " in app.query_one(ScriptEditor).text
        await pilot.press("ctrl+q")


async def test_w_watches_the_folder_and_scripts_new_videos(
    live_server, demo_folder: Path, tmp_path: Path
) -> None:
    watched = tmp_path / "inbox"
    watched.mkdir()
    app = make_app(watched, server=live_server.url, token_file=tmp_path / "token.json")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
        browser = app.query_one(FileBrowser)
        assert browser.highlighted_path() == watched
        await pilot.press("w")
        await wait_for(pilot, lambda: watched in app.watching.watchers, 10, "the watcher")
        assert watched in browser.watched
        # A video arrives (written elsewhere, then moved in, as a download would).
        (demo_folder / "demo.mp4").rename(watched / "talk.mp4")
        await wait_for(
            pilot,
            lambda: browser.statuses.get(watched / "talk.mp4") == "done",
            180,
            "the watcher to script the new video",
        )
        assert (watched / "talk.md").read_text().strip()
        await wait_for(
            pilot,
            lambda: watched / "talk.mp4" in browser._path_nodes,
            10,
            "the new video to be listed",
        )
        assert any("talk.mp4 -> talk.md" in line for line in app.query_one(SSELog).lines)
        await pilot.press("w")  # toggles it off
        await wait_for(
            pilot, lambda: watched not in app.watching.watchers, 10, "the watcher to stop"
        )
        assert watched not in browser.watched

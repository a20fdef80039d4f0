"""The panes and the keys, without a backend: hand-built state, real widgets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.binding import Binding

from tests.app.driving import type_text, wait_for
from tests.app.sample import sample_script, sample_state
from tests.app.screen_text import screen_text
from tui.app.app import STYLES_DIR, ReelscriptApp, make_app
from tui.app.dialogs import confirm, conflict, export, speakers
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.panes import file_browser, prompt_bar, script_editor, sse_log, timeline
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.panes.sse_log import SSELog
from tui.app.panes.timeline import Timeline
from tui.app.script_text import script_to_text, text_to_script
from tui.client.types import Draft, SessionState
from tui.engine.script import Script

ALL_BINDINGS = [
    ReelscriptApp.BINDINGS,
    file_browser.FileBrowser.BINDINGS,
    sse_log.SSELog.BINDINGS,
    timeline.Timeline.BINDINGS,
    script_editor.ScriptEditor.BINDINGS,
    prompt_bar.PromptBar.BINDINGS,
    confirm.ConfirmScreen.BINDINGS,
    conflict.ConflictScreen.BINDINGS,
    export.ExportScreen.BINDINGS,
    speakers.SpeakersScreen.BINDINGS,
]


def test_styles_are_found() -> None:
    assert (STYLES_DIR / "app.tcss").is_file()


@pytest.mark.parametrize("bindings", ALL_BINDINGS)
def test_every_binding_has_an_id_and_a_tooltip(bindings: list[Binding]) -> None:
    for binding in bindings:
        assert isinstance(binding, Binding)
        assert binding.id and binding.tooltip, binding


async def test_four_titled_panes_and_number_keys(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        text = screen_text(app)
        for title in ("Files", "Log", "Timeline", "Script"):
            assert f" {title} " in text
        expected = {"2": "log-lines", "3": "timeline", "4": "script"}
        for key, focused in expected.items():
            await pilot.press("alt+1")
            await pilot.press(key)
            assert app.focused is not None and app.focused.id == focused
        # In the editor digits are text; alt+N still moves.
        await pilot.press("1")
        assert app.focused.id == "script" and app.query_one(ScriptEditor).dirty
        await pilot.press("alt+5")
        assert app.focused.id == "prompt"
        await pilot.press("tab")
        assert app.focused.id == "files"
        await pilot.press("shift+tab")
        assert app.focused.id == "prompt"


async def test_palette_lists_the_pane_actions(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "zoom in")
        await wait_for(
            pilot, lambda: "Timeline: Zoom in" in screen_text(app), 5, "the palette's match"
        )
        await pilot.press("enter")  # runs the action in its pane
        await wait_for(pilot, lambda: app.query_one(Timeline).zoom == 1, 5, "the zoom")


async def test_timeline_and_editor_cursors_follow_each_other(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        editor, line = app.query_one(ScriptEditor), app.query_one(Timeline)
        await pilot.press("3", "shift+right", "shift+right", "shift+right")
        await pilot.pause()
        assert line.cursor_ms == 11_000
        assert editor.document.get_line(editor.cursor_location[0]).startswith("[00:00:11] Diane:")
        await pilot.press("4", *["down"] * 30)
        await wait_for(pilot, lambda: line.cursor_ms == 42_000, 5, "the timeline cursor")
        await pilot.press("alt+3", "plus", "plus")
        assert line.zoom == 2 and line.offset_ms > 0  # zoomed in, scrolled to the cursor
        await pilot.press("0")
        assert line.zoom == 0
        # With a mouse: a click on a lane moves the cursor, and the editor with it.
        column = int(25_000 / line.ms_per_col) + 1
        await pilot.click(Timeline, offset=(line.gutter.left + 10 + column, 3))
        assert 25_000 <= line.cursor_ms < 26_000
        assert editor.document.get_line(editor.cursor_location[0]).startswith("[00:00:25]")


async def test_quit_with_unsaved_changes_asks(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.press("4")
        await type_text(pilot, "Well, ")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        assert app.query_one(ScriptEditor).text.startswith("Well, [00:00:01]")
        await pilot.press("ctrl+z")
        assert not app.query_one(ScriptEditor).dirty
        await pilot.press("4")
        await type_text(pilot, "x")
        await pilot.press("ctrl+q", "ctrl+q")  # asked, and Ctrl+Q again means yes
    assert app.return_code == 0


async def test_heartbeats_fold_into_one_line_then_say_still_working() -> None:
    from tests.app.pane_app import PaneApp

    log = SSELog()
    app = PaneApp(log, "Log")
    async with app.run_test(size=(80, 24)) as pilot:
        start = datetime(2026, 1, 1, 9, 0, 0)
        log.add("you", "transcribe", start)
        for beat in range(1, 8):  # 7 heartbeats, 15 s apart: 105 s of quiet
            log.heartbeat(start + timedelta(seconds=15 * beat))
        await pilot.pause()
        assert len(log.lines) == 1
        assert "still working" in screen_text(app) and "⏳" not in screen_text(app)
        log.heartbeat(start + timedelta(seconds=121))
        await pilot.pause()
        assert "⏳ Still working..." in screen_text(app)
        log.progress("diarizing", 0.5, 30, start + timedelta(seconds=130))
        await pilot.pause()
        assert "⏳" not in screen_text(app) and "diarizing · ETA 0:30" in screen_text(app)
        assert len(log.lines) == 2


def test_script_text_round_trip_and_edits() -> None:
    script = sample_script()
    text = script_to_text(script)
    assert text_to_script(text, script).to_dict() == script.to_dict()

    # An edited word keeps the turn's timing; a deleted paragraph deletes its turn.
    paragraphs = text.split("\n\n")
    paragraphs[0] = paragraphs[0].replace("Good morning", "Good evening")
    del paragraphs[4]
    edited = text_to_script("\n\n".join(paragraphs), script)
    assert len(edited.turns) == len(script.turns) - 1
    assert edited.turns[0].text.startswith("Good evening,")
    assert edited.turns[0].words[1].s == script.turns[0].words[1].s
    assert edited.turns[0].words[2].s == script.turns[0].words[2].s  # "and" untouched

    # A typed-in paragraph becomes a timed turn; a new name a new speaker.
    added = text + "\n\n[00:00:50] Sheila: One more thing."
    result = text_to_script(added, script)
    assert result.turns[-1].text == "One more thing." and result.turns[-1].start_ms == 50_000
    assert result.speaker_name(result.turns[-1].speaker) == "Sheila"

    with pytest.raises(ValueError, match="header"):
        text_to_script("no header here", script)


async def test_no_color_renders_in_greys_only(media_folder: Path, monkeypatch) -> None:
    import re

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        await pilot.pause()
        svg = app.export_screenshot()
    colours = set(re.findall(r'(?:fill|color)[:=]\s*"?(#[0-9a-fA-F]{6})', svg))
    # The SVG's own window frame (traffic lights, default text) is not the app's.
    colours -= {"#ff5f57", "#febc2e", "#28c840", "#c5c8c6"}
    assert colours and all(c[1:3] == c[3:5] == c[5:7] for c in colours), colours


async def test_progress_bar_stays_while_another_stream_runs(media_folder: Path) -> None:
    """Two requests stream at once: the first to end must not hide the other's progress."""
    from tui.app.messages import JobProgress, StreamEnded, StreamStarted

    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(SSELog)
        bar = log.query_one("#log-progress")

        def stage_line() -> str:
            return str(log.query_one("#log-stage").render())

        app.post_message(StreamStarted())  # the video's job
        app.post_message(JobProgress("job_a", "transcribing", 0.4, 30))
        app.post_message(StreamStarted())  # a question asked meanwhile
        app.post_message(JobProgress("job_b", "writing", 0.9, 1))
        await pilot.pause()
        assert bar.display and stage_line() == "writing · ETA 0:01 (+1 more job)"
        app.post_message(StreamEnded(("job_b",)))  # the question's stream ends first
        await pilot.pause()
        assert bar.display and log.stage == "transcribing"
        assert stage_line() == "transcribing · ETA 0:30"
        app.post_message(StreamEnded(("job_a",)))
        await pilot.pause()
        assert not bar.display and log.stage == ""


async def test_undo_history_survives_a_save(media_folder: Path) -> None:
    """Loading the saved version of the same script keeps Ctrl+Z working."""
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_state(SessionState.from_dict(sample_state()))
        editor = app.query_one(ScriptEditor)
        original = editor.text
        await pilot.press("4")
        editor.move_cursor((0, len(editor.document.get_line(0))))
        editor.insert(" Indeed.")  # one edit (typed keys may fall into several undo steps)
        saved = editor.edited_script()
        saved.revision += 1  # what the server answers to the save
        editor.load_script(saved)
        assert not editor.dirty and "Indeed." in editor.document.get_line(0)
        await pilot.press("ctrl+z")
        assert editor.text == original and editor.dirty
        await pilot.press("ctrl+y")
        assert not editor.dirty
        # A version whose text differs (a speaker renamed) is one undoable edit.
        renamed = Script.from_dict(saved.to_dict())
        renamed.rename_speaker(next(iter(renamed.speakers)), "Dee")
        editor.load_script(renamed)
        assert "] Dee: " in editor.text and not editor.dirty
        await pilot.press("ctrl+z")
        assert "] Dee: " not in editor.text and "Indeed." in editor.document.get_line(0)
        await pilot.press("ctrl+z")
        assert editor.text == original
        # Another file's script starts a new history.
        other = Script.from_dict({**saved.to_dict(), "video_id": "vid_other"})
        editor.load_script(other)
        await pilot.press("ctrl+z")
        assert "Indeed." in editor.document.get_line(0) and not editor.dirty


async def test_enter_on_a_file_being_scripted_starts_no_second_job(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        browser = app.query_one(FileBrowser)
        await wait_for(pilot, lambda: browser.root.children, 10, "the folder listing")
        await pilot.press("down", "down")
        video = browser.highlighted_path()
        assert video == media_folder / "council.mp4"
        browser.set_status(video, "working")
        await pilot.press("enter")
        await pilot.pause()
        assert not [w for w in app.workers if w.group == "job"]
        assert any("Already being scripted" in str(n.message) for n in app._notifications)


async def test_timeline_draws_the_file_whose_script_is_shown(media_folder: Path) -> None:
    """The session's draft is of its latest file; an earlier file's script gets its own."""
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        state = sample_state()
        older = Script.from_dict({**state["script"], "video_id": "v0"})
        state["video_infos"].append({"video_id": "v0", "name": "older.wav", "duration_ms": 90_000})
        state["scripts"] = {"v1": state["script"], "v0": older.to_dict()}
        app.show_state(SessionState.from_dict(state))
        app.video_ids[media_folder / "interview.wav"] = "v0"
        assert app.editing.show_script_of(media_folder / "interview.wav")
        await pilot.pause()
        timeline = app.query_one(Timeline)
        assert timeline.script is not None and timeline.script.video_id == "v0"
        from tui.client.types import TrackType

        videos = timeline.draft.segments(TrackType.VIDEO)
        assert [meta["name"] for *_, meta in videos] == ["older.wav"]
        assert "older.wav" in screen_text(app).split("Timeline", 1)[1].split("Script")[0]
        assert timeline.draft.duration_ms == 90_000


async def test_timeline_marks_overlapped_speech() -> None:
    """Where the script says two people talk at once, the speech lane shows ▓, elsewhere ▄."""
    from tests.app.pane_app import PaneApp

    state = sample_state()
    script = Script.from_dict(state["script"])
    end = max(t.end_ms for t in script.turns)
    script.overlaps = [(end // 2, end // 2 + end // 10)]
    timeline = Timeline()
    app = PaneApp(timeline, "Timeline")
    async with app.run_test(size=(100, 20)) as pilot:
        timeline.show(Draft.from_dict(state["draft"]), script)
        await pilot.pause()
        speech = next(line for line in screen_text(app).splitlines() if "Speech" in line)
        assert "▓" in speech and "▄" in speech
        script.overlaps = []
        timeline.show(Draft.from_dict(state["draft"]), script)
        await pilot.pause()
        speech = next(line for line in screen_text(app).splitlines() if "Speech" in line)
        assert "▓" not in speech

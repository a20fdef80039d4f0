"""The Textual app: four panes and a prompt bar, wired to the backend.

``make_app`` builds the app (tests call it too); ``run_app`` is what
``reelscript [PATH]`` runs.  The panes own their behaviour; this module only
wires them: keys to actions, pane messages to workers, worker results back to
the panes.  The app's work lives in three small classes it owns: its jobs
with the backend (:class:`tui.app.jobs.Jobs`), script editing
(:class:`tui.app.editing.ScriptEditing`) and folder watching
(:class:`tui.app.folder_watch.FolderWatching`).  All I/O happens in workers
(:mod:`tui.app.connection` does the talking to the backend through
:mod:`tui.client.http`), so keys are answered while a long job streams.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from tui.app.commands import ActionsProvider
from tui.app.connection import Connection
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.dialogs.help import HelpScreen
from tui.app.editing import ScriptEditing
from tui.app.folder_watch import FolderWatching
from tui.app.jobs import Jobs
from tui.app.keys import APP_BINDINGS, EXTRA_COMMANDS, PANE_TITLES
from tui.app.messages import (
    ExportReady,
    FileStatus,
    Heartbeat,
    JobProgress,
    LogLine,
    SpeakerRenamed,
    StateLoaded,
    StreamEnded,
    StreamStarted,
)
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.find_bar import FindBar
from tui.app.panes.prompt_bar import PromptBar
from tui.app.panes.script_editor import ScriptEditor, language_note
from tui.app.panes.sse_log import SSELog
from tui.app.panes.timeline import Timeline, draft_for
from tui.attachments import detach
from tui.client.types import SessionState
from tui.engine.script import Script


def _styles_dir() -> Path:
    """styles/ from an installed wheel (tui/styles) or from the repository."""
    package = Path(__file__).resolve().parents[1]
    return package / "styles" if (package / "styles").is_dir() else package.parent / "styles"


#: Where the app's .tcss files are, both in a checkout and in an installed wheel.
STYLES_DIR = _styles_dir()

#: After SIGHUP/SIGTERM, how long the app may take to exit before it is ended outright.
HANG_UP_GRACE_S = 5.0


class ReelscriptApp(App[int]):
    """reelscript's terminal app."""

    TITLE = "reelscript"
    CSS_PATH: ClassVar = [STYLES_DIR / "app.tcss"]
    COMMANDS: ClassVar = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    EXTRA_COMMANDS: ClassVar = EXTRA_COMMANDS

    session_id: reactive[str] = reactive("")
    script: reactive[Script | None] = reactive(None, always_update=True)
    cursor_ms: reactive[int] = reactive(0)

    def __init__(
        self,
        connection: Connection,
        folder: Path,
        open_file: Path | None = None,
        *,
        autoconnect: bool = True,
    ) -> None:
        super().__init__()
        self.connection = connection
        self.autoconnect = autoconnect
        self.folder = folder
        self.open_file = open_file
        self.state = SessionState()
        #: The backend's video_id of each file uploaded in this session.
        self.video_ids: dict[Path, str] = {}
        #: A file to show once the state is read (opened again, scripted in an earlier run).
        self.show_after_load: Path | None = None
        #: Whether SIGHUP/SIGTERM end the app cleanly (``reelscript``; not under tests).
        self.handle_signals = False
        self.jobs = Jobs(self)
        self.editing = ScriptEditing(self)
        self.watching = FolderWatching(self)

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield FileBrowser(self.folder, id="files")
                yield SSELog(id="log")
            with Vertical(id="right"):
                # The timeline's cursor is the app's cursor_ms (state lives in reactives).
                yield Timeline(id="timeline").data_bind(ReelscriptApp.cursor_ms)
                yield ScriptEditor(id="script")
                yield FindBar(id="find")
        yield PromptBar(id="prompt")
        # The palette's key is in the help screen (F1): 80 columns keep a pane's own keys.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(signum, self.hang_up)
        for pane, title in PANE_TITLES.items():
            widget = self.query_one(f"#{pane}")
            widget.border_title = title
            widget.add_class("pane")
        self.query_one(FileBrowser).focus()
        if self.autoconnect:
            self.jobs.connect()

    # -- pane messages to work ----------------------------------------------------------
    @on(FileBrowser.Submitted)
    def _files_submitted(self, event: FileBrowser.Submitted) -> None:
        if len(event.paths) == 1 and self.editing.show_script_of(event.paths[0]):
            return  # already scripted in this session: show it rather than redo it
        if len(event.paths) == 1 and event.paths[0].resolve() in self.watching.watched_scripts:
            self.watching.adopt(event.paths[0].resolve())  # scripted by watching: show that
            return
        # Enter again on a file on its way: one job per file (a second would also
        # make the first one's badge read the other job's state).
        busy = self.query_one(FileBrowser).statuses
        paths = [p for p in event.paths if busy.get(p.resolve()) not in ("queued", "working")]
        if len(paths) < len(event.paths):
            self.notify("Already being scripted; its badge turns ✓ when done.")
        if paths:
            self.jobs.submit_files(paths)

    @on(FileBrowser.WatchToggled)
    def _watch_toggled(self, event: FileBrowser.WatchToggled) -> None:
        self.watching.toggle(event.folder)

    @on(PromptBar.Sent)
    def _prompt_sent(self, event: PromptBar.Sent) -> None:
        self.jobs.prompt_command(event.text)

    # -- messages from workers ---------------------------------------------------------
    @on(LogLine)
    def _log_line(self, message: LogLine) -> None:
        self.query_one(SSELog).add(message.kind, message.text, message.at)

    @on(ExportReady)
    def _export_ready(self, message: ExportReady) -> None:
        self.editing.save_asked_export(message)

    @on(SpeakerRenamed)
    def _speaker_renamed(self, message: SpeakerRenamed) -> None:
        self.editing.renamed_in_words(message)

    @on(JobProgress)
    def _job_progress(self, message: JobProgress) -> None:
        self.query_one(SSELog).progress(
            message.stage, message.progress, message.eta_s, message.at, job_id=message.job_id
        )

    @on(Heartbeat)
    def _heartbeat(self, message: Heartbeat) -> None:
        self.query_one(SSELog).heartbeat(message.at)

    @on(StreamStarted)
    def _stream_started(self) -> None:
        self.query_one(SSELog).started()

    @on(StreamEnded)
    def _stream_ended(self, message: StreamEnded) -> None:
        self.query_one(SSELog).finish(message.job_ids)

    @on(FileStatus)
    def _file_status(self, message: FileStatus) -> None:
        self.query_one(FileBrowser).set_status(message.path, message.status)

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self.show_state(message.state)

    def show_state(self, state: SessionState) -> None:
        """Show a session state: the timeline always, the script unless edits are pending."""
        self.state = state
        raw = state.script
        script = Script.from_dict(raw) if raw else None
        editor = self.query_one(ScriptEditor)
        if editor.dirty and script is not None and editor.script is not None:
            if script.revision != editor.script.revision:
                self.notify(
                    "The script changed on the server; save to compare the versions.",
                    severity="warning",
                )
            script = editor.script
        else:
            editor.load_script(script)
        self.script = script
        # Files scripted in this session, in this run or an earlier one, show as done.
        scripts = state.scripts
        browser = self.query_one(FileBrowser)
        for path, video_id in self.video_ids.items():
            if video_id in scripts and browser.statuses.get(path, "new") == "new":
                browser.set_status(path, "done")
        if self.show_after_load is not None:
            path, self.show_after_load = self.show_after_load, None
            self.editing.show_script_of(path)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """One place where a failed worker becomes a message to the user."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        message = str(error) or type(error).__name__
        if event.worker.group in ("connect", "backend") and "Reconnect" not in message:
            message += " (Ctrl+P → Reconnect tries again)"
        self.notify(message, title="Error", severity="error", timeout=8)
        # No finish() here: a stream's own end (StreamEnded) hides its progress, and
        # another request may still be streaming.
        self.query_one(SSELog).add("error", message, datetime.now())

    # -- cursor: editor <-> timeline ---------------------------------------------------
    def watch_session_id(self, session_id: str) -> None:
        self.query_one(SSELog).border_subtitle = f"session {session_id[:12]}" if session_id else ""

    def watch_script(self, script: Script | None) -> None:
        """The script shown changed (loaded, saved, renamed): redraw the timeline."""
        timeline = self.query_one(Timeline)
        timeline.show(draft_for(self.state.draft, script, self.state.video_infos), script)
        self.query_one("#script").border_subtitle = language_note(script)

    @on(ScriptEditor.FindAsked)
    def _find(self, message: ScriptEditor.FindAsked) -> None:
        self.query_one(FindBar).open(message.editor)

    @on(ScriptEditor.CursorTime)
    def _editor_cursor(self, message: ScriptEditor.CursorTime) -> None:
        self.cursor_ms = message.time_ms

    @on(Timeline.CursorMoved)
    def _timeline_cursor(self, message: Timeline.CursorMoved) -> None:
        self.cursor_ms = message.time_ms
        self.query_one(ScriptEditor).go_to_time(message.time_ms)

    # -- actions ---------------------------------------------------------------------------
    def action_save(self) -> None:
        self.editing.save()

    def action_speakers(self) -> None:
        self.editing.speakers()

    def action_voices(self) -> None:
        self.editing.voices_screen()

    def action_export(self, format: str = "md") -> None:
        self.editing.export_dialog(format)

    def action_reconnect(self) -> None:
        """Try connecting again after the backend could not be reached."""
        self.jobs.reconnect()

    def action_cancel_job(self) -> None:
        self.jobs.cancel()

    def action_focus_pane(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        target = widget.query_one("#log-lines") if pane == "log" else widget
        target.focus()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_close_panels(self) -> None:
        """Escape: the keys panel (Ctrl+P, Keys) closes, as dialogs do."""
        self.action_hide_help_panel()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    async def action_quit(self) -> None:
        if isinstance(self.screen, ConfirmScreen) and self.screen.id == "confirm-quit":
            self.exit(0)  # Ctrl+Q again on the question: the answer is yes
            return
        worries = []
        if self.query_one(ScriptEditor).dirty:
            worries.append("The script has unsaved changes (Ctrl+S saves them).")
        running = self.jobs.running()
        if running:
            names = ", ".join(n for n in running if n) or "a file"
            worries.append(
                f"A job is running ({names}): it finishes in the background "
                "and its script is here next time."
            )
        if not worries:
            self.exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(
            ConfirmScreen(" ".join(worries) + " Quit?", yes="Quit", no="Stay", id="confirm-quit"),
            answered,
        )

    def hang_up(self) -> None:
        """SIGHUP (the terminal or SSH session closed) or SIGTERM: leave nothing running.

        The backend is let go of at once (it stops by itself once nobody uses it and
        no job runs); then the app exits, and is ended outright should a terminal that
        is gone keep it from exiting cleanly.
        """
        if self.connection.local is not None:
            detach(self.connection.local.attachment)
        self.watching.stop_all()
        ender = threading.Timer(HANG_UP_GRACE_S, os._exit, (0,))
        ender.daemon = True  # a clean exit before then is not held up by it
        ender.start()
        self.exit(0)

    async def on_unmount(self) -> None:
        self.watching.stop_all()
        await self.connection.close(wait=0.0 if self.jobs.running() else 5.0)


def make_app(
    path: Path | None = None,
    server: str | None = None,
    token_file: Path | None = None,
    data_dir: Path | None = None,
    connection: Connection | None = None,
    autoconnect: bool = True,
    diarizer: str | None = None,
) -> ReelscriptApp:
    """Build the app on PATH (a folder to browse, or a file to script at once)."""
    path = (path or Path.cwd()).expanduser().resolve()
    folder, open_file = (path.parent, path) if path.is_file() else (path, None)
    if connection is None:
        connection = Connection(
            server=server, token_file=token_file, data_dir=data_dir, diarizer=diarizer
        )
    return ReelscriptApp(connection, folder, open_file, autoconnect=autoconnect)


def run_app(
    path: Path | None = None,
    server: str | None = None,
    token_file: Path | None = None,
    data_dir: Path | None = None,
    diarizer: str | None = None,
) -> int:
    """``reelscript [PATH]``: run the app; returns the process exit code."""
    if path is not None and not path.exists():
        print(f"reelscript: no such file or folder: {path}")
        return 2
    app = make_app(path, server, token_file, data_dir, diarizer=diarizer)
    app.handle_signals = True
    result = app.run()
    return int(result or app.return_code or 0)

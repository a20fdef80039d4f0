"""The Textual app: four panes and a prompt bar, wired to the backend.

``make_app`` builds the app (tests call it too); ``run_app`` is what
``reelscript [PATH]`` runs.  The panes own their behaviour; this module only
wires them: keys to actions, pane messages to workers, worker results back to
the panes.  All I/O happens in workers (:mod:`tui.session` does the talking
to the backend through :mod:`tui.client`), so keys are answered while a long
job streams.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from tui.commands import ActionsProvider
from tui.dialogs.confirm import ConfirmScreen
from tui.dialogs.conflict import ConflictScreen
from tui.dialogs.export import ExportChoice, ExportScreen
from tui.dialogs.speakers import SpeakerEdit, SpeakersScreen
from tui.engine.script import Script
from tui.messages import FileStatus, Heartbeat, JobProgress, LogLine, StateLoaded, StreamEnded
from tui.panes.file_browser import FileBrowser
from tui.panes.prompt_bar import PromptBar
from tui.panes.script_editor import ScriptEditor
from tui.panes.sse_log import SSELog
from tui.panes.timeline import Timeline
from tui.script_text import script_to_text
from tui.session import Connection, SaveConflict, describe_state
from tui.stream import summarise
from tui.watch_status import watch_event_status

#: What Enter on a file asks of the backend (API.md's first example).
EXTRACT_PROMPT = "extract a full written script with speaker labels"


def _styles_dir() -> Path:
    """styles/ from an installed wheel (tui/styles) or from the repository."""
    here = Path(__file__).resolve().parent
    return here / "styles" if (here / "styles").is_dir() else here.parent / "styles"


#: Where the app's .tcss files are, both in a checkout and in an installed wheel.
STYLES_DIR = _styles_dir()

#: The panes in the order of the number keys 1-4 (5 is the prompt bar).
PANES = ("files", "log", "timeline", "script", "prompt")
PANE_TITLES = {"files": "Files", "log": "Log", "timeline": "Timeline", "script": "Script"}


def _pane_bindings(number: int, pane: str) -> list[Binding]:
    """``N`` moves to pane N where the focused widget doesn't type digits; ``alt+N`` always."""
    title = PANE_TITLES.get(pane, "Prompt")
    tooltip = f"Move to the {title} pane"
    return [
        Binding(
            str(number),
            f"focus_pane('{pane}')",
            title,
            show=False,
            id=f"app.pane_{pane}",
            tooltip=tooltip,
        ),
        # Priority, so that the editor and the prompt bar don't take it as typing.
        Binding(
            f"alt+{number}",
            f"focus_pane('{pane}')",
            title,
            show=False,
            priority=True,
            id=f"app.pane_{pane}_alt",
            tooltip=tooltip,
        ),
    ]


class ReelscriptApp(App[int]):
    """reelscript's terminal app."""

    TITLE = "reelscript"
    CSS_PATH: ClassVar = [STYLES_DIR / "app.tcss"]
    COMMANDS: ClassVar = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            priority=True,
            tooltip="Quit (asks first if the script has unsaved changes)",
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="app.save",
            tooltip="Save the edited script (re-aligned to the timings)",
        ),
        Binding(
            "ctrl+o",
            "export",
            "Export",
            id="app.export",
            tooltip="Export the script to a file (md, srt, vtt, docx, ...)",
        ),
        Binding(
            "ctrl+n", "speakers", "Speakers", id="app.speakers", tooltip="Rename or merge speakers"
        ),
        Binding(
            "ctrl+g",
            "cancel_job",
            "Cancel job",
            show=False,
            id="app.cancel",
            tooltip="Stop the running job",
        ),
        Binding(
            "ctrl+t",
            "toggle_theme",
            "Theme",
            show=False,
            id="app.theme",
            tooltip="Switch between the dark and the light theme",
        ),
        *(b for n, pane in enumerate(PANES, start=1) for b in _pane_bindings(n, pane)),
    ]
    EXTRA_COMMANDS: ClassVar = [
        ("Credits", "Show the credit balance", "prompt_command('credits')"),
        ("Status", "Show the session's files, jobs and script", "prompt_command('status')"),
    ]

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
        self.state: dict[str, Any] = {}
        self.watchers: dict[Path, Any] = {}

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield FileBrowser(self.folder, id="files")
                yield SSELog(id="log")
            with Vertical(id="right"):
                yield Timeline(id="timeline")
                yield ScriptEditor(id="script")
        yield PromptBar(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        for pane, title in PANE_TITLES.items():
            widget = self.query_one(f"#{pane}")
            widget.border_title = title
            widget.add_class("pane")
        self.query_one(FileBrowser).focus()
        if self.autoconnect:
            self.connect()

    # -- connecting -----------------------------------------------------------------
    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect(self) -> None:
        self.post_message(LogLine("info", "connecting to the backend…"))
        self.session_id = await self.connection.open()
        self.post_message(LogLine("info", f"ready: {self.connection.describe()}"))
        if self.open_file is not None:
            self.submit_files([self.open_file])
        else:
            self.load_state()

    # -- files ------------------------------------------------------------------------
    @on(FileBrowser.Submitted)
    def _files_submitted(self, event: FileBrowser.Submitted) -> None:
        self.submit_files(event.paths)

    @work(exclusive=True, group="job", exit_on_error=False)
    async def submit_files(self, paths: list[Path]) -> None:
        for path in paths:
            self.post_message(FileStatus(path, "queued"))
        try:
            uploaded = await self.connection.upload(paths)
        except Exception:
            for path in paths:
                self.post_message(FileStatus(path, "failed"))
            raise
        for path, info in zip(paths, uploaded, strict=False):
            name = info.get("name", path.name)
            self.post_message(LogLine("info", f"uploaded {name}"))
            if info.get("has_audio") is False:
                self.post_message(LogLine("error", f"{name} has no audio track: nothing to script"))
                self.post_message(FileStatus(path, "failed"))
        for path, info in zip(paths, uploaded, strict=False):
            if info.get("has_audio") is False:
                continue
            self.post_message(FileStatus(path, "working"))
            try:
                state = await self._stream(f"{EXTRACT_PROMPT} ({info.get('name', path.name)})")
            except Exception:
                self.post_message(FileStatus(path, "failed"))
                raise
            jobs = [j for j in state.get("jobs") or [] if j.get("video_id") == info.get("video_id")]
            done = bool(jobs) and jobs[-1].get("status") == "completed"
            self.post_message(FileStatus(path, "done" if done else "failed"))

    @on(FileBrowser.WatchToggled)
    def _watch_toggled(self, event: FileBrowser.WatchToggled) -> None:
        watcher = self.watchers.pop(event.folder, None)
        if watcher is not None:
            watcher.stop()
            return
        if self.connection.client is None:
            self.notify("Not connected to the backend yet.", severity="warning")
            return
        self.watch_folder(event.folder)

    @work(group="watch", exit_on_error=False)
    async def watch_folder(self, folder: Path) -> None:
        """Watch ``folder`` until toggled off: new videos are scripted (``<name>.md`` beside them)."""
        from tui.watch import FolderWatcher

        browser = self.query_one(FileBrowser)
        watcher = FolderWatcher(
            folder,
            self.connection.client,
            on_event=self._watch_event,
            data_dir=self.connection.data_dir,
        )
        self.watchers[folder] = watcher
        browser.set_watched(folder, True)
        self.post_message(LogLine("info", f"watching {folder}"))
        try:
            await watcher.run()
        finally:
            self.watchers.pop(folder, None)
            browser.set_watched(folder, False)
            self.post_message(
                LogLine("info", f"stopped watching {folder}: {watcher.stats.summary()}")
            )

    def _watch_event(self, event: Any) -> None:
        status, line = watch_event_status(event)
        if status:
            self.post_message(FileStatus(event.path, status))
        if line:
            self.post_message(LogLine("error" if status == "failed" else "info", line))

    # -- the prompt --------------------------------------------------------------------
    @on(PromptBar.Sent)
    def _prompt_sent(self, event: PromptBar.Sent) -> None:
        self.prompt_command(event.text)

    def prompt_command(self, text: str) -> None:
        """Run what was typed: export/credits/status/upload directly, the rest via /run_sse."""
        self.post_message(LogLine("you", text))
        words = text.split()
        verb = words[0].lower() if words else ""
        if verb in ("export", "导出"):
            self.action_export(words[1].lower() if len(words) > 1 else "md")
        elif verb in ("credits", "balance", "积分", "余额"):
            self.show_credits()
        elif verb in ("status", "状态"):
            self.load_state(say=True)
        elif verb == "upload" and len(words) > 1:
            self.submit_files([Path(" ".join(words[1:])).expanduser().resolve()])
        else:
            self.send_prompt(text)

    @work(exclusive=True, group="job", exit_on_error=False)
    async def send_prompt(self, text: str) -> None:
        await self._stream(text)

    async def _stream(self, text: str) -> dict[str, Any]:
        """Stream one request's events into the log, then read and show the state."""
        before = self.state
        try:
            had_text = await self.connection.run(text, self.post_message)
        finally:
            self.post_message(StreamEnded())
        state = await self.connection.state()
        self.post_message(StateLoaded(state))
        if not had_text:
            # Some requests finish without a word: say what changed instead.
            for line in summarise(before, state):
                self.post_message(LogLine("done", line))
        return state

    @work(exclusive=True, group="state", exit_on_error=False)
    async def load_state(self, say: bool = False) -> None:
        state = await self.connection.state()
        self.post_message(StateLoaded(state))
        if say:
            for line in describe_state(state):
                self.post_message(LogLine("info", line))

    @work(exclusive=True, group="credits", exit_on_error=False)
    async def show_credits(self) -> None:
        balance = await self.connection.credits()
        self.post_message(
            LogLine(
                "info",
                f"credits: {balance.get('available')} available, "
                f"{balance.get('frozen')} frozen, {balance.get('total')} total",
            )
        )

    # -- messages from workers ---------------------------------------------------------
    @on(LogLine)
    def _log_line(self, message: LogLine) -> None:
        self.query_one(SSELog).add(message.kind, message.text, message.at)

    @on(JobProgress)
    def _job_progress(self, message: JobProgress) -> None:
        self.query_one(SSELog).progress(message.stage, message.progress, message.eta_s, message.at)

    @on(Heartbeat)
    def _heartbeat(self, message: Heartbeat) -> None:
        self.query_one(SSELog).heartbeat(message.at)

    @on(StreamEnded)
    def _stream_ended(self) -> None:
        self.query_one(SSELog).finish()

    @on(FileStatus)
    def _file_status(self, message: FileStatus) -> None:
        self.query_one(FileBrowser).set_status(message.path, message.status)

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self.show_state(message.state)

    def show_state(self, state: dict[str, Any]) -> None:
        """Show a session state: the timeline always, the script unless edits are pending."""
        self.state = state
        raw = state.get("script")
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
        self.query_one(Timeline).show(state.get("draft"), script)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """One place where a failed worker becomes a message to the user."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        message = str(error) or type(error).__name__
        self.notify(message, title="Error", severity="error", timeout=8)
        self.query_one(SSELog).add("error", message, datetime.now())
        self.query_one(SSELog).finish()

    # -- cursor: editor <-> timeline ---------------------------------------------------
    @on(ScriptEditor.CursorTime)
    def _editor_cursor(self, message: ScriptEditor.CursorTime) -> None:
        self.query_one(Timeline).cursor_ms = message.time_ms

    @on(Timeline.CursorMoved)
    def _timeline_cursor(self, message: Timeline.CursorMoved) -> None:
        self.query_one(ScriptEditor).go_to_time(message.time_ms)

    # -- saving, speakers, export -------------------------------------------------------
    def action_save(self) -> None:
        editor = self.query_one(ScriptEditor)
        if editor.script is None:
            self.notify("There is no script to save yet.", severity="warning")
            return
        try:
            edited = editor.edited_script()
        except ValueError as error:
            self.notify(str(error), title="Not saved", severity="error")
            return
        self.save_script(edited, editor.text)

    @work(exclusive=True, group="save", exit_on_error=False)
    async def save_script(self, script: Script, text: str) -> None:
        try:
            saved = await self.connection.save_script(script)
        except SaveConflict as conflict:
            self._show_conflict(script, text, conflict.current)
            return
        self.query_one(ScriptEditor).load_script(saved)
        self.script = saved
        self.query_one(Timeline).show(self.state.get("draft"), saved)
        self.notify(f"Saved (revision {saved.revision}).")
        self.post_message(LogLine("done", f"script saved, revision {saved.revision}"))

    def _show_conflict(self, mine: Script, text: str, theirs: Script) -> None:
        def chosen(choice: str | None) -> None:
            editor = self.query_one(ScriptEditor)
            if choice == "mine":
                mine.revision = theirs.revision
                self.save_script(mine, text)
            elif choice == "theirs":
                self.copy_to_clipboard(text)
                editor.load_script(theirs)
                self.notify("Loaded the server's version; yours is on the clipboard.")
            # "edit": the editor still holds the user's text, unchanged.

        self.push_screen(ConflictScreen(text, script_to_text(theirs), theirs.revision), chosen)

    def action_speakers(self) -> None:
        editor = self.query_one(ScriptEditor)
        if editor.script is None:
            self.notify("There is no script yet.", severity="warning")
            return
        if editor.dirty:
            self.notify("Save your edits first (Ctrl+S).", severity="warning")
            return
        self.push_screen(SpeakersScreen(dict(editor.script.speakers)), self._speakers_chosen)

    def _speakers_chosen(self, edit: SpeakerEdit | None) -> None:
        editor = self.query_one(ScriptEditor)
        if edit is None or editor.script is None:
            return
        script = Script.from_dict(editor.script.to_dict())
        try:
            if edit.kind == "rename":
                script.rename_speaker(edit.speaker, edit.value)
            else:
                script.merge_speakers(edit.speaker, edit.value)
        except (KeyError, ValueError) as error:
            self.notify(str(error), severity="error")
            return
        self.save_script(script, script_to_text(script))

    def action_export(self, format: str = "md") -> None:
        if not self.state.get("script"):
            self.notify("There is no script to export yet.", severity="warning")
            return
        if self.query_one(ScriptEditor).dirty:
            self.notify(
                "Exporting the saved script: your unsaved edits are not in it (Ctrl+S saves them).",
                severity="warning",
            )
        source = str(self.state["script"].get("source") or "")
        stem = Path(source).stem if source else "script"
        self.push_screen(ExportScreen(stem, Path.cwd(), format), self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self.export(choice)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def export(self, choice: ExportChoice) -> None:
        self.post_message(LogLine("info", f"exporting {choice.format} to {choice.path}"))
        video_id = (self.state.get("script") or {}).get("video_id")
        await self.connection.export(choice.format, choice.path, video_id=video_id)
        self.post_message(LogLine("done", f"saved {choice.path}"))
        self.notify(f"Saved {choice.path}")

    # -- other actions -------------------------------------------------------------------
    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def action_cancel_job(self) -> None:
        cancelled = await self.connection.cancel_running()
        self.notify("Cancelled the running job." if cancelled else "No job is running.")

    def action_focus_pane(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        target = widget.query_one("#log-lines") if pane == "log" else widget
        target.focus()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    async def action_quit(self) -> None:
        if self.query_one(ScriptEditor).dirty:

            def answered(yes: bool | None) -> None:
                if yes:
                    self.exit(0)

            self.push_screen(
                ConfirmScreen(
                    "The script has unsaved changes. Quit and lose them?", yes="Quit", no="Stay"
                ),
                answered,
            )
            return
        self.exit(0)

    async def on_unmount(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        await self.connection.close()


def make_app(
    path: Path | None = None,
    server: str | None = None,
    token_file: Path | None = None,
    data_dir: Path | None = None,
    connection: Connection | None = None,
    autoconnect: bool = True,
) -> ReelscriptApp:
    """Build the app on PATH (a folder to browse, or a file to script at once)."""
    path = (path or Path.cwd()).expanduser().resolve()
    folder, open_file = (path.parent, path) if path.is_file() else (path, None)
    if connection is None:
        connection = Connection(server=server, token_file=token_file, data_dir=data_dir)
    return ReelscriptApp(connection, folder, open_file, autoconnect=autoconnect)


def run_app(
    path: Path | None = None,
    server: str | None = None,
    token_file: Path | None = None,
    data_dir: Path | None = None,
) -> int:
    """``reelscript [PATH]``: run the app; returns the process exit code."""
    if path is not None and not path.exists():
        print(f"reelscript: no such file or folder: {path}")
        return 2
    app = make_app(path, server, token_file, data_dir)
    result = app.run()
    return int(result or app.return_code or 0)

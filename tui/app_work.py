"""The app's work with the backend: connect, script files, the prompt, jobs.

A mixin of :class:`tui.app.ReelscriptApp`, kept apart so that ``app.py``
stays wiring.  Every method that talks to the backend is a Textual worker
(``exit_on_error=False``: the app's one ``Worker.StateChanged`` handler turns
a failure into a notification and a log line) and reports through messages.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

from tui.dialogs.confirm import ConfirmScreen
from tui.messages import (
    ChoiceNeeded,
    FileStatus,
    JobProgress,
    LogLine,
    StateLoaded,
    StreamEnded,
    StreamStarted,
)
from tui.panes.file_browser import FileBrowser, is_media
from tui.session import Connection
from tui.stream import describe_state, file_badge, job_outcome, summarise

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object

#: Job statuses that mean "not finished yet".
BUSY_JOB = ("queued", "running")
#: How often jobs taken up from the last run are looked at (seconds).
FOLLOW_POLL_S = 1.0

#: What Enter on a file asks of the backend (API.md's first example).
EXTRACT_PROMPT = "extract a full written script with speaker labels"


class BackendWork(_Base):
    """Workers of the app that talk to the backend (see the module docstring)."""

    # Set by ReelscriptApp.__init__ (the app this is mixed into).
    connection: Connection
    state: dict[str, Any]
    watchers: dict[Path, Any]
    video_ids: dict[Path, str]
    show_after_load: Path | None

    # -- connecting -----------------------------------------------------------------
    @work(thread=True, group="backend", exit_on_error=False)
    def start_backend(self) -> None:
        """Start the embedded backend (a child process; blocking), then connect."""
        self.post_message(LogLine("info", "starting the embedded backend…"))
        try:
            self.connection.start_local()
        except Exception as error:
            self.call_from_thread(self.connection.fail, str(error))
            raise
        self.call_from_thread(self.connect)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect(self) -> None:
        if self.connection.server is None and self.connection.local is None:
            self.start_backend()
            return
        self.post_message(LogLine("info", "connecting to the backend…"))
        self.session_id = await self.connection.open()
        ready = f"ready: {self.connection.describe()}"
        if self.connection.resumed:
            ready += " (taken up from the last run)"
            self.video_ids.update(self.connection.remembered_files())
        self.post_message(LogLine("info", ready))
        if self.connection.resumed:
            self.follow_unfinished()
        opened = self.open_file.resolve() if self.open_file is not None else None
        if opened is not None and opened not in self.video_ids:
            self.submit_files([opened])
        else:
            self.show_after_load = opened  # scripted in an earlier run: show it, don't redo it
            self.load_state()

    def action_reconnect(self) -> None:
        """Try connecting again after the backend could not be reached."""
        if self.connection.failure or not self.session_id:
            self.post_message(LogLine("info", "reconnecting to the backend…"))
            self.connection.retry()
            self.connect()
        else:
            self.post_message(LogLine("info", f"already connected: {self.connection.describe()}"))

    # -- files ------------------------------------------------------------------------
    # Not exclusive: a second request must not cut off the stream of one still
    # running (the job would go on server-side, but its progress would be lost here).
    @work(group="job", exit_on_error=False)
    async def submit_files(self, paths: list[Path], extract: bool = True) -> None:
        """Upload ``paths``, then (``extract``) script each one, streaming into the log."""
        await self._submit(paths, extract)

    async def _submit(self, paths: list[Path], extract: bool) -> None:
        for path in paths:
            self.post_message(FileStatus(path, "queued"))
        try:
            uploaded = await self.connection.upload(paths)
        except Exception:
            for path in paths:
                self.post_message(FileStatus(path, "failed"))
            raise
        for path, info in zip(paths, uploaded, strict=False):
            self.video_ids[path.resolve()] = str(info.get("video_id", ""))
            self.connection.remember_file(path, str(info.get("video_id", "")))
            name = info.get("name", path.name)
            self.post_message(LogLine("info", f"uploaded {name}"))
            if info.get("has_audio") is False:
                self.post_message(LogLine("error", f"{name} has no audio track: nothing to script"))
                self.post_message(FileStatus(path, "failed"))
        if not extract:
            for path in paths:
                self.post_message(FileStatus(path, "new"))
            self.load_state()
            return
        for path, info in zip(paths, uploaded, strict=False):
            if info.get("has_audio") is False:
                continue
            self.post_message(FileStatus(path, "working"))
            known = {j.get("id") for j in self.state.get("jobs") or []}
            try:
                state = await self._stream(f"{EXTRACT_PROMPT} ({info.get('name', path.name)})")
            except Exception:
                self.post_message(FileStatus(path, "failed"))
                raise
            # This request's jobs for the file: not one that another request started.
            jobs = [
                j
                for j in state.get("jobs") or []
                if j.get("video_id") == info.get("video_id") and j.get("id") not in known
            ]
            self.post_message(FileStatus(path, file_badge(jobs, state, info.get("video_id"))))
            for job in jobs[-1:]:
                self.post_message(LogLine("done", job_outcome(path.name, job, state)))

    # -- the prompt --------------------------------------------------------------------
    def prompt_command(self, text: str) -> None:
        """Run what was typed: export/credits/status/upload/open directly, the rest via
        /run_sse."""
        self.post_message(LogLine("you", text))
        words = text.split()
        verb = words[0].lower() if words else ""
        if verb in ("export", "导出") and len(words) <= 2:  # "export srt": the dialog
            self.action_export(words[1].lower() if len(words) > 1 else "md")
        elif verb in ("credits", "balance", "积分", "余额"):
            self.show_credits()
        elif verb in ("status", "状态"):
            self.load_state(say=True)
        elif verb in ("open", "cd") and len(words) > 1:
            folder = Path(" ".join(words[1:])).expanduser().resolve()
            folder = folder.parent if folder.is_file() else folder
            if folder.is_dir():
                self.query_one(FileBrowser).open_folder(folder)
                self.post_message(LogLine("info", f"showing the folder {folder}"))
            else:
                self.notify(f"No such folder: {folder}", severity="error")
        elif verb == "upload" and len(words) > 1:
            path = Path(" ".join(words[1:])).expanduser().resolve()
            if path.is_file():
                self.submit_files([path], extract=False)
            else:
                self.notify(f"No such file: {path}", severity="error")
        else:
            self.send_prompt(text)

    @work(group="job", exit_on_error=False)
    async def send_prompt(self, text: str) -> None:
        """Send ``text`` to the agent; files it names from the Files folder are uploaded first
        ("transcribe panel.mov and export srt" works before Enter was pressed on it)."""
        named = [p for p in self._named_files(text) if p not in self.video_ids]
        if named:
            await self._submit(named, extract=False)
        known = {j.get("id") for j in self.state.get("jobs") or []}
        state = await self._stream(text)
        for path in named:
            video_id = self.video_ids.get(path)
            jobs = [
                j
                for j in state.get("jobs") or []
                if j.get("video_id") == video_id and j.get("id") not in known
            ]
            self.post_message(FileStatus(path, file_badge(jobs, state, video_id)))

    def _named_files(self, text: str) -> list[Path]:
        """Media files of the Files folder that ``text`` names (``interview.mp4``)."""
        folder = Path(self.query_one(FileBrowser).path).resolve()
        names = re.findall(r"[\w.-]+\.[A-Za-z0-9]{2,4}\b", text)
        found = [(folder / name).resolve() for name in names]
        return list(dict.fromkeys(p for p in found if p.is_file() and is_media(p)))

    async def _stream(self, text: str, if_edited: str | None = None) -> dict[str, Any]:
        """Stream one request's events into the log, then read and show the state.

        When the backend will not script a file again because its script holds
        the user's edits, the user is asked (keep / replace) and the request is
        sent once more with that choice: nothing is charged for a declined job.
        """
        before = self.state
        jobs: dict[str, None] = {}  # the jobs this stream reports, so its end ends only them
        asked: list[ChoiceNeeded] = []

        def post(message: Message) -> None:
            if isinstance(message, ChoiceNeeded):
                asked.append(message)
                return
            if isinstance(message, JobProgress):
                jobs[message.job_id] = None
            self.post_message(message)

        self.post_message(StreamStarted())
        try:
            had_text = await self.connection.run(text, post, if_edited=if_edited)
        finally:
            self.post_message(StreamEnded(tuple(jobs)))
        if asked and if_edited is None:
            choice = await self._keep_or_replace(asked[-1].edited)
            self.post_message(LogLine("info", f"you chose: {choice} the edited script"))
            return await self._stream(text, choice)
        state = await self.connection.state()
        self.post_message(StateLoaded(state))
        if not had_text:
            # Some requests finish without a word: say what changed instead.
            for line in summarise(before, state):
                self.post_message(LogLine("done", line))
        return state

    async def _keep_or_replace(self, edited: list[dict[str, Any]]) -> str:
        """Ask whether to replace edited scripts; "keep" unless the user says replace."""
        names = ", ".join(str(e.get("name")) for e in edited) or "This file"
        question = (
            f"{names}: the script has your edits. Script it again and replace them?"
            " (Keep costs nothing.)"
        )
        replace = await self.push_screen_wait(
            ConfirmScreen(question, yes="Replace", no="Keep my edits", id="confirm-replace")
        )
        return "replace" if replace else "keep"

    @work(group="follow", exit_on_error=False)
    async def follow_unfinished(self) -> None:
        """Jobs of the last run that are still going: say so, show their files as working,
        and say (and show) what they made once they end."""
        state = await self.connection.state()
        names = {v.get("video_id"): v.get("name") for v in state.get("video_infos") or []}
        paths = {v: p for p, v in self.video_ids.items()}
        waiting = {str(j["id"]): j for j in state.get("jobs") or [] if j.get("status") in BUSY_JOB}
        for job in waiting.values():
            stage = f"{job.get('stage') or job.get('status')} {job.get('progress', 0):.0%}"
            self.post_message(
                LogLine(
                    "info",
                    f"{names.get(job.get('video_id'), 'a file')}: the job of the last run goes on "
                    f"({stage}); its script shows here when it is done",
                )
            )
            if job.get("video_id") in paths:
                self.post_message(FileStatus(paths[job["video_id"]], "working"))
        while waiting:
            await asyncio.sleep(FOLLOW_POLL_S)
            state = await self.connection.state()
            ended = [
                j
                for j in state.get("jobs") or []
                if str(j.get("id")) in waiting and j.get("status") not in BUSY_JOB
            ]
            for job in ended:
                del waiting[str(job["id"])]
                name = names.get(job.get("video_id"), "a file")
                self.post_message(LogLine("done", job_outcome(name, job, state)))
                if job.get("video_id") in paths:
                    badge = file_badge([job], state, job.get("video_id"))
                    self.post_message(FileStatus(paths[job["video_id"]], badge))
            if ended:
                self.post_message(StateLoaded(state))

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
        held = balance.get("frozen") or 0
        held_words = f", {held} held by running jobs" if held else ""
        if balance.get("unlimited") or balance.get("available") is None:
            said = f"credits: {balance.get('display') or '∞'} (unlimited){held_words}"
        else:
            said = f"credits: {balance.get('available')} available{held_words}"
        self.post_message(LogLine("info", said))

    def jobs_running(self) -> list[str]:
        """The names of the files whose jobs are queued or running ("" for one not yet
        known: a request still on its way)."""
        names = {v.get("video_id"): v.get("name") for v in self.state.get("video_infos") or []}
        running = [
            str(names.get(j.get("video_id")) or "")
            for j in self.state.get("jobs") or []
            if j.get("status") in ("queued", "running")
        ]
        try:
            browsers = list(self.query(FileBrowser).results())
        except Exception:  # noqa: BLE001 - no screen any more (the app is unmounting)
            browsers = []
        for browser in browsers:
            running += [p.name for p, st in browser.statuses.items() if st in ("queued", "working")]
        if not running and any(w.group == "job" and w.is_running for w in self.workers):
            running.append("")
        return list(dict.fromkeys(running))

    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def action_cancel_job(self) -> None:
        cancelled = await self.connection.cancel_running()
        self.notify("Cancelled the running job." if cancelled else "No job is running.")

"""The app's jobs with the backend: connect, script files, send the prompt, follow jobs.

:class:`Jobs` is owned by :class:`tui.app.app.ReelscriptApp`.  Every method that
talks to the backend runs as a worker of the app (``exit_on_error=False``:
the app's one ``Worker.StateChanged`` handler turns a failure into a
notification and a log line) and reports through messages.  A request is
followed to its jobs' end by :mod:`tui.client.flow`, also when its stream
is cut off at the API's time limit.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from tui.app.connection import Connection
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.messages import (
    ChoiceNeeded,
    FileStatus,
    JobProgress,
    LogLine,
    StateLoaded,
    StreamEnded,
    StreamStarted,
)
from tui.app.panes.file_browser import FileBrowser, is_media
from tui.app.stream import describe_state, event_messages, file_badge, job_outcome, summarise
from tui.client.flow import extract_prompt, follow_jobs
from tui.client.types import Event, Job, SessionState

if TYPE_CHECKING:
    from tui.app.app import ReelscriptApp

#: How often jobs taken up from the last run are looked at (seconds).
FOLLOW_POLL_S = 1.0


class Jobs:
    """The app's work with the backend (see the module docstring)."""

    def __init__(self, app: ReelscriptApp) -> None:
        self.app = app

    @property
    def connection(self) -> Connection:
        return self.app.connection

    def _post(self, message: Message) -> None:
        self.app.post_message(message)

    # -- connecting -----------------------------------------------------------------
    def start_backend(self) -> Worker[None]:
        """Start the embedded backend (a child process; blocking), then connect."""
        return self.app.run_worker(
            self._start_backend, thread=True, group="backend", exit_on_error=False
        )

    def _start_backend(self) -> None:
        self._post(LogLine("info", "starting the embedded backend…"))
        try:
            self.connection.start_local()
        except Exception as error:
            self.app.call_from_thread(self.connection.fail, str(error))
            raise
        self.app.call_from_thread(self.connect)

    def connect(self) -> Worker[None]:
        return self.app.run_worker(
            self._connect(), exclusive=True, group="connect", exit_on_error=False
        )

    async def _connect(self) -> None:
        app = self.app
        if self.connection.server is None and self.connection.local is None:
            self.start_backend()
            return
        self._post(LogLine("info", "connecting to the backend…"))
        app.session_id = await self.connection.open()
        ready = f"ready: {self.connection.describe()}"
        if self.connection.resumed:
            ready += " (taken up from the last run)"
            app.video_ids.update(self.connection.remembered_files())
        self._post(LogLine("info", ready))
        if self.connection.resumed:
            self.follow_unfinished()
        opened = app.open_file.resolve() if app.open_file is not None else None
        if opened is not None and opened not in app.video_ids:
            self.submit_files([opened])
        else:
            app.show_after_load = opened  # scripted in an earlier run: show it, don't redo it
            self.load_state()

    def reconnect(self) -> None:
        """Try connecting again after the backend could not be reached."""
        if self.connection.failure or not self.app.session_id:
            self._post(LogLine("info", "reconnecting to the backend…"))
            self.connection.retry()
            self.connect()
        else:
            self._post(LogLine("info", f"already connected: {self.connection.describe()}"))

    # -- files ------------------------------------------------------------------------
    def submit_files(self, paths: list[Path], extract: bool = True) -> Worker[None]:
        """Upload ``paths``, then (``extract``) script each one, streaming into the log."""
        # Not exclusive: a second request must not cut off the stream of one still
        # running (the job would go on server-side, but its progress would be lost here).
        return self.app.run_worker(self._submit(paths, extract), group="job", exit_on_error=False)

    async def _submit(self, paths: list[Path], extract: bool) -> None:
        app = self.app
        for path in paths:
            self._post(FileStatus(path, "queued"))
        try:
            uploaded = await self.connection.upload(paths)
        except Exception:
            for path in paths:
                self._post(FileStatus(path, "failed"))
            raise
        for path, info in zip(paths, uploaded, strict=False):
            app.video_ids[path.resolve()] = info.video_id
            self.connection.remember_file(path, info.video_id)
            self._post(LogLine("info", f"uploaded {info.name or path.name}"))
            if info.has_audio is False:
                name = info.name or path.name
                self._post(LogLine("error", f"{name} has no audio track: nothing to script"))
                self._post(FileStatus(path, "failed"))
        if not extract:
            for path in paths:
                self._post(FileStatus(path, "new"))
            self.load_state()
            return
        for path, info in zip(paths, uploaded, strict=False):
            if info.has_audio is False:
                continue
            self._post(FileStatus(path, "working"))
            try:
                # This request's jobs for the file: not one that another request started.
                state, jobs = await self._request(
                    extract_prompt(info.name or path.name), frozenset({info.video_id})
                )
            except Exception:
                self._post(FileStatus(path, "failed"))
                raise
            self._post(FileStatus(path, file_badge(jobs, state, info.video_id)))
            for job in jobs[-1:]:
                self._post(LogLine("done", job_outcome(path.name, job, state)))

    # -- the prompt --------------------------------------------------------------------
    def prompt_command(self, text: str) -> None:
        """Run what was typed: export/credits/status/upload/open directly, the rest via
        /run_sse."""
        app = self.app
        self._post(LogLine("you", text))
        words = text.split()
        verb = words[0].lower() if words else ""
        if verb in ("export", "导出") and len(words) <= 2:  # "export srt": the dialog
            app.action_export(words[1].lower() if len(words) > 1 else "md")
        elif verb in ("credits", "balance", "积分", "余额"):
            self.show_credits()
        elif verb in ("status", "状态"):
            self.load_state(say=True)
        elif verb in ("open", "cd") and len(words) > 1:
            folder = Path(" ".join(words[1:])).expanduser().resolve()
            folder = folder.parent if folder.is_file() else folder
            if folder.is_dir():
                app.query_one(FileBrowser).open_folder(folder)
                self._post(LogLine("info", f"showing the folder {folder}"))
            else:
                app.notify(f"No such folder: {folder}", severity="error")
        elif verb == "upload" and len(words) > 1:
            path = Path(" ".join(words[1:])).expanduser().resolve()
            if path.is_file():
                self.submit_files([path], extract=False)
            else:
                app.notify(f"No such file: {path}", severity="error")
        else:
            self.send_prompt(text)

    def send_prompt(self, text: str) -> Worker[None]:
        """Send ``text`` to the agent; files it names from the Files folder are uploaded first
        ("transcribe panel.mov and export srt" works before Enter was pressed on it)."""
        return self.app.run_worker(self._send_prompt(text), group="job", exit_on_error=False)

    async def _send_prompt(self, text: str) -> None:
        video_ids = self.app.video_ids
        named = [p for p in self._named_files(text) if p not in video_ids]
        if named:
            await self._submit(named, extract=False)
        state, jobs = await self._request(text)
        for path in named:
            video_id = video_ids.get(path)
            mine = [j for j in jobs if j.video_id == video_id]
            self._post(FileStatus(path, file_badge(mine, state, video_id)))

    def _named_files(self, text: str) -> list[Path]:
        """Media files of the Files folder that ``text`` names (``interview.mp4``)."""
        folder = Path(self.app.query_one(FileBrowser).path).resolve()
        names = re.findall(r"[\w.-]+\.[A-Za-z0-9]{2,4}\b", text)
        found = [(folder / name).resolve() for name in names]
        return list(dict.fromkeys(p for p in found if p.is_file() and is_media(p)))

    async def _request(
        self,
        text: str,
        video_ids: frozenset[str] | None = None,
        if_edited: str | None = None,
    ) -> tuple[SessionState, list[Job]]:
        """Stream one request's events into the log, follow its jobs to their end, then
        show the state; returns it and the request's jobs.

        When the backend will not script a file again because its script holds
        the user's edits, the user is asked (keep / replace) and the request is
        sent once more with that choice: nothing is charged for a declined job.
        """
        before = self.app.state
        jobs: dict[str, None] = {}  # the jobs this stream reports, so its end ends only them
        asked: list[ChoiceNeeded] = []

        def post(message: Message) -> None:
            if isinstance(message, ChoiceNeeded):
                asked.append(message)
                return
            if isinstance(message, JobProgress):
                jobs[message.job_id] = None
            self._post(message)

        def heard(event: Event) -> None:
            for message in event_messages(event, datetime.now())[0]:
                post(message)

        def standing(job: Job) -> None:
            """A job that outlived its stream: its progress as the state tells it."""
            post(JobProgress(job.id, job.stage or job.status, job.progress, None))

        self._post(StreamStarted())
        try:
            outcome = await self.connection.request(
                text,
                heard,
                standing,
                video_ids=video_ids,
                known=frozenset(j.id for j in before.jobs),
                if_edited=if_edited,
            )
        finally:
            self._post(StreamEnded(tuple(jobs)))
        if asked and if_edited is None:
            choice = await self._keep_or_replace(asked[-1].edited)
            self._post(LogLine("info", f"you chose: {choice} the edited script"))
            return await self._request(text, video_ids, choice)
        self._post(StateLoaded(outcome.state))
        if not outcome.said:
            # Some requests finish without a word: say what changed instead.
            for line in summarise(before, outcome.state):
                self._post(LogLine("done", line))
        return outcome.state, outcome.jobs

    async def _keep_or_replace(self, edited: list[dict[str, object]]) -> str:
        """Ask whether to replace edited scripts; "keep" unless the user says replace."""
        names = ", ".join(str(e.get("name")) for e in edited) or "This file"
        question = (
            f"{names}: the script has your edits. Script it again and replace them?"
            " (Names you gave speakers stay with their voices; keeping costs nothing.)"
        )
        replace = await self.app.push_screen_wait(
            ConfirmScreen(question, yes="Replace", no="Keep my edits", id="confirm-replace")
        )
        return "replace" if replace else "keep"

    # -- jobs of the last run, state, credits --------------------------------------------
    def follow_unfinished(self) -> Worker[None]:
        """Jobs of the last run that are still going: say so, show their files as working,
        and say (and show) what they made once they end."""
        return self.app.run_worker(self._follow_unfinished(), group="follow", exit_on_error=False)

    async def _follow_unfinished(self) -> None:
        state = await self.connection.state()
        paths = {v: p for p, v in self.app.video_ids.items()}
        waiting = state.busy_jobs
        for job in waiting:
            stage = f"{job.stage or job.status} {job.progress:.0%}"
            self._post(
                LogLine(
                    "info",
                    f"{state.name_of(job.video_id)}: the job of the last run goes on "
                    f"({stage}); its script shows here when it is done",
                )
            )
            if job.video_id in paths:
                self._post(FileStatus(paths[job.video_id], "working"))

        def ended(jobs: list[Job], now: SessionState) -> None:
            for job in jobs:
                self._post(LogLine("done", job_outcome(state.name_of(job.video_id), job, now)))
                if job.video_id in paths:
                    badge = file_badge([job], now, job.video_id)
                    self._post(FileStatus(paths[job.video_id], badge))
            self._post(StateLoaded(now))

        await follow_jobs(
            self.connection.api,
            self.connection.session_id,
            [job.id for job in waiting],
            ended,
            poll_s=FOLLOW_POLL_S,
        )

    def load_state(self, say: bool = False) -> Worker[None]:
        return self.app.run_worker(
            self._load_state(say), exclusive=True, group="state", exit_on_error=False
        )

    async def _load_state(self, say: bool) -> None:
        state = await self.connection.state()
        self._post(StateLoaded(state))
        if say:
            for line in describe_state(state):
                self._post(LogLine("info", line))

    def show_credits(self) -> Worker[None]:
        return self.app.run_worker(
            self._show_credits(), exclusive=True, group="credits", exit_on_error=False
        )

    async def _show_credits(self) -> None:
        balance = await self.connection.credits()
        held = balance.get("frozen") or 0
        held_words = f", {held} held by running jobs" if held else ""
        if balance.get("unlimited") or balance.get("available") is None:
            said = f"credits: {balance.get('display') or '∞'} (unlimited){held_words}"
        else:
            said = f"credits: {balance.get('available')} available{held_words}"
        self._post(LogLine("info", said))

    def running(self) -> list[str]:
        """The names of the files whose jobs are queued or running ("" for one not yet
        known: a request still on its way)."""
        app = self.app
        running = [app.state.name_of(j.video_id, "") for j in app.state.busy_jobs]
        try:
            browsers = list(app.query(FileBrowser).results())
        except Exception:  # noqa: BLE001 - no screen any more (the app is unmounting)
            browsers = []
        for browser in browsers:
            running += [p.name for p, st in browser.statuses.items() if st in ("queued", "working")]
        if not running and any(w.group == "job" and w.is_running for w in app.workers):
            running.append("")
        return list(dict.fromkeys(running))

    def cancel(self) -> Worker[None]:
        return self.app.run_worker(
            self._cancel(), exclusive=True, group="cancel", exit_on_error=False
        )

    async def _cancel(self) -> None:
        cancelled = await self.connection.cancel_running()
        self.app.notify("Cancelled the running job." if cancelled else "No job is running.")

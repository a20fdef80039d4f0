"""The app's connection to the backend: one client, one session, the error table.

:class:`Connection` is what the app's workers await.  It starts the embedded
backend when no ``--server`` was given (stopping it on close), keeps one API
session and applies docs/api.md's table where the app has to act: a session that
is gone (1002) is replaced by a new one and the call retried once, and every
other error becomes one clear line (:func:`explain`).  The last session of a
backend is remembered in the data dir (:mod:`tui.client.session_store`) and taken up
again on the next launch, so the work done before is still there.  Token renewal (1001)
and the retry after 429 happen inside :mod:`tui.client.http`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tui.client.flow import JobRequest, Outcome
from tui.client.http import ApiError, Client, NotFound, RevisionConflict
from tui.client.local_server import LocalServer, start_or_reuse
from tui.client.session_store import SessionStore
from tui.client.types import Event, Job, SessionState, VideoInfo
from tui.datadir import resolve_data_dir
from tui.engine.media_kinds import MEDIA_FORMATS
from tui.engine.script import Script

T = TypeVar("T")

SUPPORTED = ", ".join(MEDIA_FORMATS)


class SaveConflict(Exception):
    """The script was changed on the server since it was loaded (409)."""

    def __init__(self, current: Script) -> None:
        super().__init__(f"the script is now at revision {current.revision} on the server")
        self.current = current


class BackendError(Exception):
    """A failed call, said in one line for the user."""


def explain(code: int, message: str) -> str:
    """docs/api.md's "what the client does" for an error code, as one line.

    The server's message comes first; the advice is added only when the
    message doesn't already give it.
    """
    message = message or f"error {code}"
    lower = message.lower()
    advice = {
        2001: (
            "Not enough credits",
            "Type 'credits' to see the balance; a new token "
            "(or the server's --starting-credits) gives more.",
            "balance",
        ),
        4001: ("Unsupported or unreadable file", f"Supported: {SUPPORTED}.", "supported"),
        4002: (
            "File too large",
            "Trim or compress it (e.g. ffmpeg -i in.mp4 -b:a 64k out.m4a).",
            "trim",
        ),
        402: ("Export refused by the server", "This is not about credits.", "not about credits"),
        422: ("The server did not accept the request", "", ""),
        1001: ("The server refused the token even after renewing it", "", ""),
        # The server's message says when ("retry in N s"): no second, contradicting hint.
        429: ("The server is busy (rate limited)", "Try again in a moment.", "retry"),
    }.get(code)
    if advice is None:
        return message
    title, hint, already = advice
    if code == 4001 and "damaged or incomplete" in lower:
        return message  # a supported format, cut short: the list of formats would mislead
    line = f"{title}: {message}"
    if hint and not (already and already in lower):
        line = f"{line.rstrip('.')}. {hint}"
    return line


class Connection:
    """One backend (embedded or remote), one token, one session."""

    def __init__(
        self,
        server: str | None = None,
        token_file: Path | None = None,
        data_dir: Path | None = None,
        language: str = "auto",
        diarizer: str | None = None,
    ) -> None:
        self.server = server
        self.token_file = token_file
        self.data_dir = data_dir
        self.language = language
        #: Speaker labels of the embedded backend, when this starts it (None: its default).
        self.diarizer = diarizer
        self.session_id = ""
        #: Whether :meth:`open` took up the session remembered from the last run.
        self.resumed = False
        self.memory: SessionStore | None = None
        self.client: Client | None = None
        self.local: LocalServer | None = None
        self.closed = False
        #: Set once connected, or once connecting failed (then ``failure`` says why):
        #: work asked for meanwhile (Enter pressed at once) waits for it.
        self.ready = asyncio.Event()
        self.failure = ""

    def describe(self) -> str:
        if self.local is not None:
            where = f"embedded backend at {self.local.url}"
        else:
            where = f"backend at {self.server}"
        return f"{where}, session {self.session_id[:8]}"

    def start_local(self) -> None:
        """Start (or reuse) the embedded backend; blocking, so the app calls it in a thread."""
        if self.server is None and self.local is None:
            self.local = start_or_reuse(self.data_dir, diarizer=self.diarizer)
            if self.closed:
                # The app quit while the backend was starting: leave nothing running.
                self.local.stop()
                self.local = None

    async def open(self) -> str:
        """Reach the backend, get a token and a session; returns the session id.

        Without ``--server``, :meth:`start_local` must have run first.
        """
        if self.server is not None:
            url, token_file = self.server, self.token_file
        elif self.local is not None:
            url, token_file = self.local.url, self.token_file or self.local.token_file
        else:
            raise BackendError("the embedded backend was not started")
        self.client = Client(url, token_file=token_file, platform="tui")
        try:
            await self._resume_or_new()
        except ApiError as error:
            self.fail(explain(error.code, str(error)))
            raise BackendError(self.failure) from error
        except Exception as error:
            self.fail(str(error) or type(error).__name__)
            raise
        self.ready.set()
        return self.session_id

    def retry(self) -> None:
        """Forget a failed connection, so that :meth:`open` can be tried again."""
        if self.failure:
            self.failure = ""
            self.ready = asyncio.Event()

    def fail(self, reason: str) -> None:
        """Connecting failed: every waiting call gives up with ``reason``."""
        self.failure = reason
        self.ready.set()

    async def _resume_or_new(self) -> None:
        """Take up this backend's session of the last run if it is still ours, else a new one."""
        api = self.api
        server_id = (await api.health()).get("server_id") or api.base_url
        data_dir = (
            self.local.data_dir if self.local is not None else resolve_data_dir(self.data_dir)
        )
        self.memory = SessionStore(data_dir, f"{server_id} {api.token_file.resolve()}")
        remembered = self.memory.session_id
        if remembered:
            try:
                await api.state(remembered)
            except NotFound:
                pass  # 1002: gone (the server's data reset, a new token): start a new one
            else:
                self.session_id, self.resumed = remembered, True
                return
        await self._new_session()

    async def _new_session(self) -> None:
        assert self.client is not None
        session = await self.client.create_session(language=self.language)
        self.session_id = session.session_id
        self.resumed = False
        if self.memory is not None:
            self.memory.new_session(self.session_id)

    def remembered_files(self) -> dict[Path, str]:
        """Files uploaded to this session in an earlier run (unchanged since), by path."""
        return self.memory.files() if self.memory is not None and self.resumed else {}

    def remember_file(self, path: Path, video_id: str) -> None:
        """``path`` was uploaded to this session as ``video_id`` (kept for the next run)."""
        if self.memory is not None and self.memory.session_id == self.session_id:
            self.memory.add_file(path, video_id)

    async def close(self, wait: float = 5.0) -> None:
        """Close the client and detach from the embedded backend, which stops when no other
        app or watcher uses it and no job runs (waiting up to ``wait`` seconds for that)."""
        self.closed = True
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        if self.local is not None:
            await asyncio.to_thread(self.local.stop, wait)
            self.local = None

    @property
    def api(self) -> Client:
        if self.client is None:
            raise BackendError("not connected to a backend yet")
        return self.client

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one API call with the app's part of docs/api.md's error table."""
        if not self.ready.is_set():
            await self.ready.wait()
        if self.failure:
            raise BackendError(
                f"not connected to the backend: {self.failure} (Ctrl+P, Reconnect to try again)"
            )
        try:
            try:
                return await make()
            except NotFound:
                if not self.session_id:
                    raise
                # 1002: the session is gone (server data reset, another token): start
                # a new one and try once more.
                await self._new_session()
                return await make()
        except RevisionConflict:
            raise
        except ApiError as error:
            raise BackendError(explain(error.code, str(error))) from error

    async def upload(self, paths: list[Path]) -> list[VideoInfo]:
        uploaded = await self._call(lambda: self.api.upload_files(self.session_id, paths))
        return [VideoInfo.from_dict(info) for info in uploaded]

    async def request(
        self,
        text: str,
        on_event: Callable[[Event], None],
        on_job: Callable[[Job], None] | None = None,
        *,
        video_ids: frozenset[str] | None = None,
        known: frozenset[str] = frozenset(),
        if_edited: str | None = None,
    ) -> Outcome:
        """Send ``text`` to ``/run_sse``, passing on each event, and follow its jobs to their end.

        A stream cut off at its time limit leaves its jobs queued or running: they are
        followed through the session state (``on_job`` hears how each stands).
        ``video_ids``, ``known`` and ``if_edited``: see :class:`tui.client.flow.JobRequest`.
        """

        async def follow() -> Outcome:
            request = JobRequest(
                self.api,
                self.session_id,
                text,
                video_ids=video_ids,
                known=known,
                if_edited=if_edited,
            )
            async for event in request.events():
                on_event(event)
            return await request.outcome(on_job)

        return await self._call(follow)

    async def state(self) -> SessionState:
        return await self._call(lambda: self.api.session_state(self.session_id))

    async def credits(self) -> dict[str, Any]:
        return await self._call(self.api.credits)

    async def save_script(self, script: Script) -> Script:
        """PUT the script; a stale revision raises :class:`SaveConflict` with the server's."""
        try:
            saved = await self._call(lambda: self.api.put_script(self.session_id, script.to_dict()))
        except RevisionConflict as conflict:
            current = conflict.current_script
            if current is None:
                raise BackendError(f"the save was refused as stale: {conflict}") from conflict
            raise SaveConflict(Script.from_dict(current)) from conflict
        return Script.from_dict(saved)

    async def voices(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call of the voice routes (docs/api.md, Voices); a 404 is the voice's, not the
        session's, so it never starts a new session."""

        async def call() -> Any:
            try:
                extra: dict[str, Any] = {"json": body} if body is not None else {}
                return await self.api._send(method, path, **extra)
            except NotFound as error:
                raise BackendError(str(error)) from error

        return await self._call(call)

    async def adopt_script(self, path: Path, session_id: str, video_id: str) -> VideoInfo:
        """Bring a script made elsewhere with this token (the folder watcher's own session)
        into this session for ``path``: the file is uploaded (free) and the script saved as
        its first revision, so nothing is scripted (nor charged) again.  Returns the upload."""
        theirs = (await self._call(lambda: self.api.session_state(session_id))).scripts[video_id]
        [info] = await self.upload([path])
        script = {**theirs, "video_id": info.video_id, "revision": 0}
        await self._call(lambda: self.api.put_script(self.session_id, script))
        return info

    async def export(
        self, format: str, path: Path, video_id: str | None = None, **video: Any
    ) -> Path:
        """Export to ``path``; ``video``: a captioned export's resolution, fit, on_progress."""
        return await self._call(
            lambda: self.api.export(self.session_id, format, path, video_id=video_id, **video)
        )

    async def download(self, url: str, path: Path) -> Path:
        """Fetch a finished export's ``url`` to ``path`` (never half-written)."""
        return await self._call(lambda: self.api.download(url, path))

    async def cancel_running(self) -> bool:
        """Cancel this session's running or queued jobs; returns whether there was one."""
        jobs = (await self.state()).busy_jobs
        for job_id in [job.id for job in jobs]:

            def cancel(job_id: str = job_id) -> Awaitable[dict[str, Any]]:
                return self.api.cancel_job(job_id)

            await self._call(cancel)
        return bool(jobs)

"""The app's connection to the backend: one client, one session, the error table.

:class:`Connection` is what the app's workers await.  It starts the embedded
backend when no ``--server`` was given (stopping it on close), keeps one API
session and applies API.md's table where the app has to act: a session that
is gone (1002) is replaced by a new one and the call retried once, and every
other error becomes one clear line (:func:`explain`).  Token renewal (1001)
and the retry after 429 happen inside :mod:`tui.client`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from textual.message import Message

from tui.engine.script import Script
from tui.stream import event_messages

T = TypeVar("T")

SUPPORTED = "mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac"


class SaveConflict(Exception):
    """The script was changed on the server since it was loaded (409)."""

    def __init__(self, current: Script) -> None:
        super().__init__(f"the script is now at revision {current.revision} on the server")
        self.current = current


class BackendError(Exception):
    """A failed call, said in one line for the user."""


def explain(code: int, message: str) -> str:
    """API.md's "what the client does" for an error code, as one line."""
    if code == 2001:
        return (
            f"Not enough credits: {message}. Type 'credits' to see the balance; "
            "a new token (or the server's --starting-credits) gives more."
        )
    if code == 4001:
        return f"Unsupported or unreadable file: {message}. Supported: {SUPPORTED}."
    if code == 4002:
        return f"File too large: {message}. Trim or compress it (e.g. ffmpeg -i in.mp4 -b:a 64k out.m4a)."
    if code == 402:
        return f"Export refused by the server: {message} (this is not about credits)."
    if code == 422:
        return f"The server did not accept the request: {message}"
    if code == 1001:
        return f"The server refused the token even after renewing it: {message}"
    if code == 429:
        return f"The server is busy (rate limited); try again in a moment: {message}"
    return message or f"error {code}"


class Connection:
    """One backend (embedded or remote), one token, one session."""

    def __init__(
        self,
        server: str | None = None,
        token_file: Path | None = None,
        data_dir: Path | None = None,
        language: str = "en",
    ) -> None:
        self.server = server
        self.token_file = token_file
        self.data_dir = data_dir
        self.language = language
        self.session_id = ""
        self.client: Any = None
        self.local: Any = None
        self.watchers: dict[Path, tuple[Any, asyncio.Task[None]]] = {}

    def describe(self) -> str:
        where = self.server or "embedded backend"
        return f"{where}, session {self.session_id[:8]}"

    async def open(self) -> str:
        """Start (or reach) the backend, get a token and a session; returns the session id."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop watchers, close the client and stop the embedded backend."""
        for watcher, task in list(self.watchers.values()):
            watcher.stop()
            task.cancel()
        self.watchers.clear()
        if self.client is not None:
            await self.client.aclose()
        if self.local is not None:
            await asyncio.to_thread(self.local.stop)
            self.local = None

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def upload(self, paths: list[Path]) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def run(self, text: str, post: Callable[[Message], Any]) -> tuple[bool, bool]:
        """Send ``text`` to ``/run_sse``, posting each event; returns (ok, had_text)."""
        had_text = False
        ok = True
        async for event in self._events(text):
            messages, text_seen = event_messages(event[0], event[1], datetime.now())
            had_text = had_text or text_seen
            ok = ok and event[0] != "error"
            for message in messages:
                post(message)
        return ok, had_text

    async def _events(self, text: str) -> Any:
        raise NotImplementedError
        yield

    async def state(self) -> dict[str, Any]:
        raise NotImplementedError

    async def credits(self) -> dict[str, Any]:
        raise NotImplementedError

    async def save_script(self, script: Script) -> Script:
        raise NotImplementedError

    async def export(self, format: str, path: Path) -> None:
        raise NotImplementedError

    async def cancel_running(self) -> bool:
        raise NotImplementedError

    async def toggle_watch(self, folder: Path, report: Callable[[Path, str, str], None]) -> bool:
        raise NotImplementedError


def describe_state(state: dict[str, Any]) -> list[str]:
    """The session's files, jobs and script, a line each (the ``status`` command)."""
    lines = [
        f"file {v.get('name')}: {v.get('duration_ms', 0) / 1000:.0f}s"
        for v in state.get("video_infos") or []
    ]
    lines += [
        f"job {j.get('kind')} {j.get('status')} {j.get('stage') or ''}".rstrip()
        for j in state.get("jobs") or []
    ]
    script = state.get("script")
    if script:
        lines.append(
            f"script revision {script.get('revision')}: "
            f"{len(script.get('turns') or [])} turns, "
            f"{len(script.get('speakers') or {})} speakers"
        )
    return lines or ["the session is empty: pick a file and press Enter"]

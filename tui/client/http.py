"""The API client of docs/api.md (httpx + httpx-sse), used by the app and the folder watcher.

Usage (everything is async; from sync code wrap a coroutine in ``asyncio.run``)::

    from pathlib import Path
    from tui.client.http import Client, ApiError, NoCredits

    async with Client("http://127.0.0.1:8765", platform="watch") as api:
        session = await api.create_session(language="en")           # Session(task_id, session_id)
        [info] = await api.upload_files(session.session_id, [Path("talk.mp4")])
        async for event in api.run_sse(session.session_id,
                                       "extract a full written script from this video with speaker labels"):
            if event.kind == "progress":      # event.job_id, event.stage, event.progress, ...
                print(event.stage, event.progress)
            elif event.kind == "message":     # agent event: event.text, event.function_calls, ...
                print(event.text)
        state = await api.session_state(session.session_id)  # SessionState: jobs, scripts, ...
        script = state.script
        script["speakers"]["S1"] = "Diane"
        script = await api.put_script(session.session_id, script)   # RevisionConflict on a stale one
        await api.export(session.session_id, "srt", Path("talk.srt"))  # render + poll + download

The parts: :mod:`tui.client.errors` (errors and retry rules),
:mod:`tui.client.tokens`, :mod:`tui.client.stream` (``/run_sse``),
:mod:`tui.client.transfer` (uploads, downloads), :mod:`tui.client.types`
(typed results) and :mod:`tui.client.flow` (a job from request to outcome).
For the app's own embedded backend, see :mod:`tui.client.local_server` (``start_or_reuse``
gives the URL).  The token is kept on disk (``token_file``, by default
``<data dir>/client.json``) per server and renewed once on 1001; a 400 on
the token call gets a new client id and one more try; a 429 is retried once
after ``Retry-After`` (up to 30 s; a longer wait raises :class:`RateLimited`); every other failure raises an
:class:`ApiError` subclass named after the docs/api.md code, whose ``str()`` is a
one-line message fit for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from tui import __version__
from tui.client.errors import (  # re-exported: the client's public errors
    ERRORS,
    ApiError,
    AuthError,
    BadRequest,
    ExportRefused,
    FileTooLarge,
    InvalidRequest,
    NoCredits,
    NotFound,
    RateLimited,
    RetryOnce,
    RevisionConflict,
    ServerError,
    ServerUnreachable,
    UnsupportedFile,
    error_from,
)
from tui.client.stream import stream_events
from tui.client.tokens import TokenKeeper, TokenStore
from tui.client.transfer import MultipartFiles, download_to
from tui.client.types import Event, Session, SessionState
from tui.datadir import default_data_dir

__all__ = [
    "Client",
    "ApiError",
    "BadRequest",
    "ExportRefused",
    "RevisionConflict",
    "InvalidRequest",
    "RateLimited",
    "AuthError",
    "NotFound",
    "NoCredits",
    "UnsupportedFile",
    "FileTooLarge",
    "ServerError",
    "ServerUnreachable",
    "ERRORS",
    "error_from",
    "Session",
    "SessionState",
    "Event",
    "TokenStore",
]


# -- the client ------------------------------------------------------------------------
class Client:
    """An async client of one backend (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        token_file: Path | None = None,
        token: str | None = None,
        platform: str = "tui",
        source: str = "reelscript",
        version: str = __version__,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_file = Path(token_file) if token_file else default_data_dir() / "client.json"
        self.attribution = {
            "X-Skill-Source": source,
            "X-Skill-Version": version,
            "X-Skill-Platform": platform,
        }
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, headers=self.attribution, transport=transport
        )
        self._server_key: str | None = None
        self._health: dict[str, Any] | None = None
        self._tokens = TokenKeeper(self.token_file, self.base_url, token)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing --------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        build: Callable[[], dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send, retrying once on 1001 (new token) and once on 429 (after Retry-After)."""
        retry = RetryOnce()
        while True:
            headers = dict(kwargs.pop("headers", None) or {})
            if auth:
                headers["Authorization"] = f"Bearer {await self.ensure_token()}"
            extra = build() if build else {}
            try:
                response = await self._http.request(
                    method, path, headers=headers, **kwargs, **extra
                )
            except httpx.TransportError as exc:
                raise ServerUnreachable(
                    f"cannot reach the backend at {self.base_url}: {exc}"
                ) from exc
            finally:
                kwargs["headers"] = headers
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code == 200 and isinstance(body, dict) and body.get("code") == 0:
                return body.get("data")
            error = error_from(response, body)
            if await retry.allows(self, error, auth=auth):
                continue
            raise error

    async def health(self) -> dict[str, Any]:
        """``{status, version, model, device, server_id, max_upload_bytes, ...}`` (no auth)."""
        self._health = await self._send("GET", "/api/health", auth=False)
        return self._health

    async def _key(self) -> str:
        if self._server_key is None:
            try:
                info = self._health or await self.health()
                self._server_key = str(info.get("server_id") or self.base_url)
            except ApiError:
                self._server_key = self.base_url
        return self._server_key

    async def ensure_token(self, renew: bool = False) -> str:
        """The token for this server: from memory, the token file, or a new anonymous one."""
        return await self._tokens.get(self._key, self._anonymous_token, renew=renew)

    async def _anonymous_token(self, ident: dict[str, str]) -> dict[str, Any]:
        headers = {"X-Client-Id": ident["client_id"], "X-Client-Secret": ident["client_secret"]}
        data: dict[str, Any] = await self._send(
            "POST", "/api/auth/anonymous-token", auth=False, headers=headers
        )
        return data

    # -- the API ---------------------------------------------------------------------------
    async def create_session(self, language: str = "en", task_name: str = "project") -> Session:
        data = await self._send(
            "POST",
            "/api/tasks/me/with-session/nemo_agent",
            json={"task_name": task_name, "language": language},
        )
        return Session(task_id=data["task_id"], session_id=data["session_id"])

    async def upload_files(
        self,
        session_id: str,
        paths: list[Path],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Upload files (streamed from disk, multipart); returns their ``files`` entries.

        ``progress(sent_bytes, total_bytes)`` is called as the body goes out.
        """
        paths = [Path(p) for p in paths]
        for path in paths:
            if not path.is_file():
                raise InvalidRequest(f"{path}: no such file", code=422)
        limit = (self._health or await self.health()).get("max_upload_bytes")
        for path in paths:
            if limit and path.stat().st_size > int(limit):
                raise FileTooLarge(
                    f"{path.name} is larger than the server's limit of "
                    f"{int(limit) // (1024 * 1024)} MB; trim or compress it"
                )
        files = MultipartFiles(paths, progress)
        try:
            data = await self._send(
                "POST",
                f"/api/upload-video/nemo_agent/me/{session_id}",
                build=files.build,
                timeout=httpx.Timeout(30.0, write=300.0),
            )
        finally:
            files.close()
        return list(data["files"])

    async def upload_urls(self, session_id: str, urls: list[str]) -> list[dict[str, Any]]:
        data = await self._send(
            "POST",
            f"/api/upload-video/nemo_agent/me/{session_id}",
            json={"urls": urls, "source_type": "url"},
            timeout=httpx.Timeout(30.0, read=600.0),
        )
        return list(data["files"])

    def run_sse(self, session_id: str, text: str, **options: Any) -> AsyncIterator[Event]:
        """Send a message and yield the stream's events until it ends, resuming a dropped
        connection; ``options``: ``last_event_id``, ``max_resumes``, ``if_edited``
        (see :func:`tui.client.stream.stream_events`)."""
        return stream_events(self, self._http, session_id, text, **options)

    async def state(self, session_id: str) -> dict[str, Any]:
        """The session state as the API sends it (see :meth:`session_state` for it typed)."""
        data = await self._send("GET", f"/api/state/nemo_agent/me/{session_id}/latest")
        return dict(data["state"])

    async def session_state(self, session_id: str) -> SessionState:
        """The session's draft, files, scripts and jobs, typed."""
        return SessionState.from_dict(await self.state(session_id))

    async def put_script(
        self, session_id: str, script: dict[str, Any], revision: int | None = None
    ) -> dict[str, Any]:
        """Save an edited script (revision: the one it was based on, default its own)."""
        rev = script.get("revision", 0) if revision is None else revision
        data = await self._send(
            "PUT",
            f"/api/script/nemo_agent/me/{session_id}",
            json={"revision": rev, "script": script},
        )
        return dict(data["script"])

    async def credits(self) -> dict[str, Any]:
        """``{available, frozen, total, unlimited, display}``; available is None when unlimited."""
        return dict(await self._send("GET", "/api/credits/balance/simple"))

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        return dict((await self._send("POST", f"/api/jobs/{job_id}/cancel"))["job"])

    async def render(
        self,
        session_id: str,
        fmt: str,
        *,
        video_id: str | None = None,
        draft: dict[str, Any] | None = None,
        timestamps: bool = True,
        resolution: str | None = None,
        fit: str | None = None,
    ) -> dict[str, Any]:
        """Start an export; ``resolution`` and ``fit`` are the captioned export's frame."""
        output: dict[str, Any] = {"format": fmt, "quality": "high", "timestamps": timestamps}
        output.update({k: v for k, v in (("resolution", resolution), ("fit", fit)) if v})
        body: dict[str, Any] = {
            "id": f"render_{int(time.time() * 1000)}_{uuid.uuid4().hex[:6]}",
            "sessionId": session_id,
            "draft": draft or {},
            "output": output,
        }
        if video_id:
            body["video_id"] = video_id
        return dict(await self._send("POST", "/api/render/proxy/lambda", json=body))

    async def render_status(self, render_id: str) -> dict[str, Any]:
        return dict(await self._send("GET", f"/api/render/proxy/lambda/{render_id}"))

    async def cancel_render(self, render_id: str) -> dict[str, Any]:
        """Stop an export under way (nothing of it is kept)."""
        return dict(await self._send("POST", f"/api/render/proxy/lambda/{render_id}/cancel"))

    async def download(self, url: str, dest: Path) -> Path:
        """Fetch an export's url to ``dest`` (temp file + rename: never half-written).

        As every call: once more with a new token on 1001, once more after a 429's wait.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        retry = RetryOnce()
        while True:
            try:
                return await self._download_once(url, dest)
            except (AuthError, RateLimited) as error:
                if not await retry.allows(self, error):
                    raise

    async def _download_once(self, url: str, dest: Path) -> Path:
        headers = {"Authorization": f"Bearer {await self.ensure_token()}"}
        return await download_to(self._http, url, dest, headers)

    async def export(
        self,
        session_id: str,
        fmt: str,
        dest: Path,
        *,
        video_id: str | None = None,
        timestamps: bool = True,
        poll_s: float = 0.25,
        timeout_s: float | None = None,
        resolution: str | None = None,
        fit: str | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> Path:
        """Render ``fmt``, wait for it, download it to ``dest``; returns ``dest``.

        ``on_progress`` gets each status polled (``progress``, ``eta_s``).  The
        wait is ``timeout_s`` at most (default 600 s; a captioned render, a
        video's re-encoding, 4 hours).  Cancelling the awaiting task cancels
        the render on the server too.
        """
        render = await self.render(
            session_id,
            fmt,
            video_id=video_id,
            timestamps=timestamps,
            resolution=resolution,
            fit=fit,
        )
        timeout_s = timeout_s or (4 * 3600 if fmt == "captioned" else 600)
        deadline = time.monotonic() + timeout_s
        try:
            while render["status"] not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise ServerError(f"the {fmt} export did not finish within {timeout_s:.0f} s")
                if on_progress is not None:
                    on_progress(render)
                await asyncio.sleep(poll_s)
                render = await self.render_status(render["id"])
        except asyncio.CancelledError:
            with contextlib.suppress(ApiError, httpx.HTTPError):
                await asyncio.shield(self.cancel_render(render["id"]))
            raise
        if render["status"] == "failed":
            raise ServerError(f"the {fmt} export failed: {render.get('error')}")
        return await self.download(render["output"]["url"], dest)

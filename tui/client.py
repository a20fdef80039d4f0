"""The API client of docs/api.md (httpx + httpx-sse), used by the app and the folder watcher.

Usage (everything is async; from sync code wrap a coroutine in ``asyncio.run``)::

    from pathlib import Path
    from tui.client import Client, ApiError, NoCredits

    async with Client("http://127.0.0.1:8765", platform="watch") as api:
        session = await api.create_session(language="en")           # Session(task_id, session_id)
        [info] = await api.upload_files(session.session_id, [Path("talk.mp4")])
        async for event in api.run_sse(session.session_id,
                                       "extract a full written script from this video with speaker labels"):
            if event.kind == "progress":      # event.data: {job_id, stage, progress, eta_s}
                print(event.data["stage"], event.data["progress"])
            elif event.kind == "message":     # agent event: event.text, event.function_calls, ...
                print(event.text)
        state = await api.state(session.session_id)   # {draft, video_infos, scripts, script, jobs, ...}
        script = state["script"]
        script["speakers"]["S1"] = "Diane"
        script = await api.put_script(session.session_id, script)   # RevisionConflict on a stale one
        await api.export(session.session_id, "srt", Path("talk.srt"))  # render + poll + download

For the app's own embedded backend, see :mod:`tui.local_server` (``start_or_reuse``
gives the URL).  The token is kept on disk (``token_file``, by default
``<data dir>/client.json``) per server and renewed once on 1001; a 400 on
the token call gets a new client id and one more try; a 429 is retried once
after ``Retry-After`` (up to 30 s; a longer wait raises :class:`RateLimited`); every other failure raises an
:class:`ApiError` subclass named after the API.md code, whose ``str()`` is a
one-line message fit for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tui import __version__
from tui.client_types import (  # re-exported: the client's public types
    ERRORS,
    ApiError,
    AuthError,
    BadRequest,
    Event,
    ExportRefused,
    FileTooLarge,
    InvalidRequest,
    NoCredits,
    NotFound,
    RateLimited,
    RevisionConflict,
    ServerError,
    ServerUnreachable,
    Session,
    TokenStore,
    UnsupportedFile,
    error_from,
)
from tui.datadir import OUTPUT_MODE, default_data_dir

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
    "Event",
    "TokenStore",
]

#: Longest Retry-After the client waits by itself (longer ones raise RateLimited).
MAX_RETRY_WAIT_S = 30.0
STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # heartbeats come every 15 s at most


# -- upload progress ------------------------------------------------------------------------------
@dataclass
class _RetryOnce:
    """API.md's client rules for one call: a new token once on 1001, one wait on 429."""

    renewed: bool = False
    waited: bool = False

    async def allows(self, client: Client, error: ApiError, *, auth: bool = True) -> bool:
        """True when ``error`` has been dealt with and the call should be sent again."""
        if isinstance(error, AuthError) and auth and not self.renewed:
            self.renewed = True
            await client.ensure_token(renew=True)
            return True
        if isinstance(error, RateLimited) and not self.waited:
            wait = error.retry_after or 1
            if wait <= MAX_RETRY_WAIT_S:
                self.waited = True
                await asyncio.sleep(wait)
                return True
        return False


@dataclass
class _Sent:
    total: int
    callback: Callable[[int, int], None] | None
    count: int = 0


class _CountingFile:
    """A file httpx streams from (it reads chunks), counting what went out."""

    def __init__(self, path: Path, sent: _Sent) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
        self._sent = sent

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._sent.count += len(chunk)
        if self._sent.callback is not None and chunk:
            self._sent.callback(self._sent.count, self._sent.total)
        return chunk

    def fileno(self) -> int:  # httpx sizes the multipart body from it
        return self._fh.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()


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
        self._token = token
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
        self._token_lock = asyncio.Lock()

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
        retry = _RetryOnce()
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
        async with self._token_lock:
            if self._token and not renew:
                return self._token
            key = await self._key()
            store = TokenStore.load(self.token_file)
            saved = store.tokens.get(key)
            if not renew and saved and saved.get("token"):
                self._token = str(saved["token"])
                return self._token
            if not store.client_id:
                store.new_identity()
                store.save()
            elif not store.client_secret:
                store.client_secret = secrets.token_urlsafe(32)  # a file from before secrets
                store.save()
            # A server that refused the shared identity has one of its own (below).
            own = {k: v for k, v in (saved or {}).items() if k in ("client_id", "client_secret")}
            ident = own or {"client_id": store.client_id, "client_secret": store.client_secret}
            try:
                data = await self._anonymous_token(ident)
            except (BadRequest, RateLimited) as error:
                # 400: this server does not take the id (missing, corrupt, another
                # client's); 429 for the id: its token, issued before secrets proved ids,
                # is lost.  A new identity for this server only (the shared one keeps
                # the accounts it has elsewhere), asked once more.
                if (
                    isinstance(error, RateLimited)
                    and (error.data or {}).get("reason") != "client_id"
                ):
                    raise
                ident = {"client_id": str(uuid.uuid4()), "client_secret": secrets.token_urlsafe(32)}
                store.tokens[key] = {**(saved or {}), **ident, "token": None}
                store.save()
                data = await self._anonymous_token(ident)
            store = TokenStore.load(self.token_file)  # another process may have written meanwhile
            store.tokens[key] = {
                **ident,  # renewals for this server prove the identity this token came with
                "token": data["token"],
                "expires_at": data.get("expires_at"),
                "server": self.base_url,
            }
            store.save()
            self._token = str(data["token"])
            return self._token

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
        handles: list[Any] = []
        sent = _Sent(sum(p.stat().st_size for p in paths), progress)

        def build() -> dict[str, Any]:
            for fh in handles:
                fh.close()
            sent.count = 0
            handles[:] = [_CountingFile(p, sent) for p in paths]
            return {
                "files": [
                    ("files", (p.name, fh, "application/octet-stream"))
                    for p, fh in zip(paths, handles, strict=True)
                ]
            }

        try:
            data = await self._send(
                "POST",
                f"/api/upload-video/nemo_agent/me/{session_id}",
                build=build,
                timeout=httpx.Timeout(30.0, write=300.0),
            )
        finally:
            for fh in handles:
                fh.close()
        return list(data["files"])

    async def upload_urls(self, session_id: str, urls: list[str]) -> list[dict[str, Any]]:
        data = await self._send(
            "POST",
            f"/api/upload-video/nemo_agent/me/{session_id}",
            json={"urls": urls, "source_type": "url"},
            timeout=httpx.Timeout(30.0, read=600.0),
        )
        return list(data["files"])

    async def run_sse(
        self,
        session_id: str,
        text: str,
        *,
        last_event_id: str | None = None,
        max_resumes: int = 5,
        if_edited: str | None = None,
    ) -> AsyncIterator[Event]:
        """Send a message and yield the stream's events until it ends.

        A dropped connection is resumed with ``Last-Event-ID`` (up to
        ``max_resumes`` times), so no event is lost or repeated.  ``if_edited``
        (``keep``/``replace``) is the choice for scripts holding the user's edits.
        """
        body: dict[str, Any] = {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]},
        }
        if if_edited is not None:
            body["if_edited"] = if_edited
        resumes, retry = 0, _RetryOnce()
        while True:
            headers = {
                "Accept": "text/event-stream",
                "Authorization": f"Bearer {await self.ensure_token()}",
            }
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            try:
                async with aconnect_sse(
                    self._http,
                    "POST",
                    "/run_sse",
                    json=body,
                    headers=headers,
                    timeout=STREAM_TIMEOUT,
                ) as source:
                    response = source.response
                    if response.status_code != 200:
                        await response.aread()
                        try:
                            error = error_from(response, response.json())
                        except ValueError:
                            error = error_from(response, None)
                        if await retry.allows(self, error):
                            continue
                        raise error
                    async for sse in source.aiter_sse():
                        if sse.id:
                            last_event_id = sse.id
                        try:
                            data = json.loads(sse.data) if sse.data else {}
                        except ValueError:
                            data = {"raw": sse.data}
                        yield Event(kind=sse.event or "message", data=data, id=sse.id or None)
                return
            except (httpx.TransportError, httpx.StreamError) as exc:
                if resumes >= max_resumes or last_event_id is None:
                    raise ServerUnreachable(
                        f"the event stream from {self.base_url} broke: {exc}"
                    ) from exc
                resumes += 1
                await asyncio.sleep(min(0.25 * 2**resumes, 5.0))

    async def state(self, session_id: str) -> dict[str, Any]:
        data = await self._send("GET", f"/api/state/nemo_agent/me/{session_id}/latest")
        return dict(data["state"])

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
        retry = _RetryOnce()
        while True:
            try:
                return await self._download_once(url, dest)
            except (AuthError, RateLimited) as error:
                if not await retry.allows(self, error):
                    raise

    async def _download_once(self, url: str, dest: Path) -> Path:
        headers = {"Authorization": f"Bearer {await self.ensure_token()}"}
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                async with self._http.stream("GET", url, headers=headers) as response:
                    if response.status_code != 200:
                        await response.aread()
                        try:
                            raise error_from(response, response.json())
                        except ValueError:
                            raise error_from(response, None) from None
                    async for chunk in response.aiter_bytes():
                        fh.write(chunk)
            os.chmod(tmp, OUTPUT_MODE)  # as any other output: the user's umask, not 0600
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

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

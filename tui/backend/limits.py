"""The backend's request limits: body sizes, failed-auth slowdown, the caller's address.

* :class:`BodyLimit` (pure ASGI middleware): a request body other than an upload's
  multipart files is read whole before any route sees it and answered HTTP 413 /
  code 422 "request too large" past ``max_json_bytes`` (a script's PUT: past
  ``max_script_bytes``; the route then holds a script to a bound proportional to
  its media, :func:`script_limit`).  Uploads keep their own limit (code 4002).
* :class:`AuthThrottle`: an address that sent ``auth_failures_per_minute`` bad
  bearer tokens within a minute is answered 429 (with ``Retry-After``) until
  the oldest of them is a minute old.
* :func:`client_address`: the peer's address, or the forwarded one when the peer
  is a trusted proxy (``--trusted-proxy``), as the per-address limits see it.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
import time
from collections import OrderedDict, deque
from typing import Any

from tui.backend.errors import ApiError, RateLimited

SCRIPT_PATH_PREFIX = "/api/script/"
UPLOAD_PATH_PREFIX = "/api/upload-video/"
#: A script's body may be this much, plus :data:`SCRIPT_BYTES_PER_MINUTE` per minute of its media.
SCRIPT_BASE_BYTES = 1024 * 1024
SCRIPT_BYTES_PER_MINUTE = 256 * 1024
#: Addresses whose failures are remembered at once (the oldest is forgotten first).
MAX_TRACKED = 10_000
#: An oversized body up to this size is read to its end (and dropped) before the 413 is
#: sent: a server that closes while the client is still sending resets the connection,
#: and the client never reads the answer.  Past it the answer goes at once.
DRAIN_BYTES = 64 * 1024 * 1024


class RequestTooLarge(ApiError):
    """A JSON body over its limit: HTTP 413 with code 422 (4002 stays for media files)."""

    code = 422
    status = 413


def script_limit(duration_ms: int | None, hard_limit: int) -> int:
    """How many bytes a script of media this long may take (JSON), at most ``hard_limit``."""
    minutes = math.ceil(max(0, duration_ms or 0) / 60_000)
    return min(hard_limit, SCRIPT_BASE_BYTES + SCRIPT_BYTES_PER_MINUTE * max(1, minutes))


def _too_large(limit: int) -> bytes:
    return json.dumps(
        {
            "code": RequestTooLarge.code,
            "message": f"request too large: a body of this request may be {limit} bytes at most",
            "data": {"limit_bytes": limit},
        }
    ).encode()


class BodyLimit:
    """Pure ASGI middleware: JSON (and any non-upload) bodies read whole, within their limit."""

    def __init__(self, app: Any, max_json_bytes: int, max_script_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_script_bytes = max_script_bytes

    def limit_for(self, scope: Any) -> int | None:
        path = str(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if path.startswith(UPLOAD_PATH_PREFIX) and content_type.startswith("multipart/"):
            return None  # files: streamed to disk by the route, under --max-upload-mb (4002)
        if path.startswith(SCRIPT_PATH_PREFIX):
            return self.max_script_bytes
        return self.max_json_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= DRAIN_BYTES:
                await self._drain(receive, 0)
            await self._refuse(send, limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the route sees what came
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                if message.get("more_body", False):
                    await self._drain(receive, size)
                await self._refuse(send, limit)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _drain(receive: Any, size: int) -> None:
        """Read the rest of a refused body, dropping it, up to :data:`DRAIN_BYTES` in all."""
        while size <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        content = _too_large(limit)
        await send(
            {
                "type": "http.response.start",
                "status": RequestTooLarge.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


class AuthThrottle:
    """Failed bearer-token checks per address within a minute; past the limit, 429."""

    WINDOW_S = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address, deque())
        while times and times[0] <= now - self.WINDOW_S:
            times.popleft()
        return times

    def check(self, address: str) -> None:
        """Raise 429 when ``address`` has used up its failures for this minute."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if len(times) < self.per_minute:
                return
            wait = max(1, math.ceil(times[0] + self.WINDOW_S - now))
        raise RateLimited(
            f"too many bad tokens from this address; retry in {wait} s",
            data={"retry_after": wait, "reason": "bad_tokens"},
            headers={"Retry-After": str(wait)},
        )

    def failed(self, address: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None, proxies: tuple[str, ...]) -> str:
    """The caller as the per-address limits count it.

    ``X-Forwarded-For`` is believed only when the peer is a trusted proxy; then
    the right-most address in it that is not itself a trusted proxy is the caller
    (addresses further left were written by the client and prove nothing).
    """
    address = peer or "unknown"
    if not proxies or not _trusted(address, proxies) or not forwarded_for:
        return address
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else address

"""``reelscript serve``: build the FastAPI app, take the data dir, run uvicorn and the workers.

One backend per data dir: the server holds an exclusive lock on
``<data>/server.lock`` and writes ``<data>/server.json`` (pid, url, port)
while it runs, which is how the app finds and reuses a running backend.
On start, jobs left running by a killed server are requeued or failed with
their credits released, interrupted exports are failed, and the files such a
server left half-done are removed (:mod:`tui.backend.housekeeping`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tui import __version__
from tui.backend import (
    admin,
    background,
    exports,
    housekeeping,
    jobs,
    openapi_doc,
    rendering,
    team,
)
from tui.backend.api import router
from tui.backend.config import Backend, Config
from tui.backend.errors import ERROR_STATUSES, ApiError
from tui.backend.export_api import router as export_router
from tui.backend.limits import BodyLimit
from tui.backend.models import ErrorEnvelope
from tui.backend.store import Store
from tui.backend.voices_api import router as voices_router
from tui.backend.worker import WorkerPool
from tui.datadir import resolve_data_dir, write_json
from tui.engine.writing import plural

log = logging.getLogger("reelscript.server")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _DatabaseDown(Exception):
    """Stands for psycopg.OperationalError where psycopg is not installed."""


with contextlib.suppress(ImportError):
    from psycopg import OperationalError as _DatabaseDown  # type: ignore[assignment]  # noqa: F811
INFO_FILE = "server.json"
LOCK_FILE = "server.lock"
#: An idle connection is kept this long.  Longer than any client keeps one idle (httpx:
#: 5 s), so a client never sends a request on a connection the server is closing:
#: uvicorn's own 5 s raced httpx's 5 s, and a request made 5 s after the last one
#: could fail with "cannot reach the backend".
KEEP_ALIVE_S = 30


def _envelope(
    status: int, code: int, message: str, data: Any = None, headers: Any = None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "data": data}, status_code=status, headers=headers
    )


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    msg = str(first.get("msg", "invalid request"))
    return f"invalid request: {where}: {msg}" if where else f"invalid request: {msg}"


class AttributionLog:
    """Pure ASGI middleware (safe for streams): logs who calls (X-Skill-* headers)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
            log.info(
                "%s %s source=%s version=%s platform=%s",
                scope["method"],
                scope["path"],
                headers.get("x-skill-source", "-"),
                headers.get("x-skill-version", "-"),
                headers.get("x-skill-platform", "-"),
            )
        await self.app(scope, receive, send)


def create_app(config: Config, start_workers: bool = True) -> FastAPI:
    """The ASGI app of one data dir; workers start and stop with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.team:  # other processes' jobs and exports are theirs: nothing to recover
            async with team.running(app.state.backend):
                follow = asyncio.create_task(background.follow_ups(app.state.backend))
                try:
                    yield
                finally:
                    follow.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await follow
            app.state.backend.exports.shutdown(wait=False, cancel_futures=True)
            return
        store = Store(config.data_dir)
        resumed, failed = jobs.recover(store, reason="the server restarted")
        interrupted = exports.fail_interrupted(app.state.backend)
        # After the line above (its exports' temp files are orphans now), before the
        # workers start and before any request: nothing swept can be in use.
        housekeeping.sweep(store)
        retention = None
        if config.keep_days is not None:
            housekeeping.retain(app.state.backend.store, config.keep_days)
            retention = asyncio.create_task(
                background.retention(app.state.backend.store, config.keep_days)
            )
        if resumed or failed or interrupted:
            log.warning(
                "after restart: %s resumed, %d failed, %s failed",
                plural(resumed, "job"),
                failed,
                plural(interrupted, "export"),
            )
        pool = WorkerPool(
            config.data_dir,
            config.workers,
            config.model,
            config.max_upload_bytes,
            config.diarizer,
        )
        if start_workers:
            pool.start()
        app.state.backend.live_workers = lambda: sum(p.is_alive() for p in pool.procs)
        follow_ups = asyncio.create_task(background.follow_ups(app.state.backend))
        unused = None
        if config.exit_when_unused:
            unused = asyncio.create_task(background.exit_when_unused(app.state.backend))
        try:
            yield
        finally:
            for task in (follow_ups, retention, unused):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            pool.stop()
            rendering.cancel_all()  # a render under way stops and keeps nothing
            app.state.backend.exports.shutdown(wait=False, cancel_futures=True)

    error_responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorEnvelope, "description": "error envelope"}
        for status in ERROR_STATUSES
    }
    app = FastAPI(
        title="reelscript",
        version=__version__,
        description="Video to speaker-labelled script: the API of docs/api.md.",
        lifespan=lifespan,
        responses=error_responses,
    )
    store = team.open_store(config)
    app.state.backend = Backend(config=config, store=store, server_id=store.server_id)
    app.include_router(router)
    app.include_router(export_router)
    app.include_router(admin.router)
    app.include_router(voices_router)
    app.add_middleware(
        BodyLimit, max_json_bytes=config.max_json_bytes, max_script_bytes=config.max_script_bytes
    )
    app.add_middleware(AttributionLog)
    openapi_doc.install(app)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _envelope(exc.status, exc.code, exc.message, exc.data, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return _envelope(422, 422, _validation_message(exc), {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's "error parsing the body" (bytes that are not UTF-8 JSON,
            # nesting too deep): a malformed body is 422; 400 means X-Client-Id missing.
            message = f"invalid request: the body is not valid JSON ({exc.detail})"
            return _envelope(422, 422, message, None, exc.headers)
        code = 1002 if exc.status_code == 404 else exc.status_code
        return _envelope(exc.status_code, code, str(exc.detail), None, exc.headers)

    # Registered for these classes (not Exception): answered here, never re-raised to
    # uvicorn, so a refusing data dir is one log line, not a traceback per request.
    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(OSError)
    @app.exception_handler(_DatabaseDown)
    async def refused(request: Request, exc: Exception) -> JSONResponse:
        # The data dir refused (read-only, full, gone): one line, the server goes on.
        log.error(
            "the data dir refused %s %s: %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc,
        )
        return _envelope(
            500, 500, f"internal error: the data dir cannot be written ({exc}); reads still work"
        )

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _envelope(500, 500, f"internal error: {type(exc).__name__}: {exc}")

    return app


def parse_credits(value: str | int | None) -> int | None:
    """``"unlimited"`` (or ``inf``/``∞``) is None; else a non-negative integer."""
    if value is None:
        return 100
    text = str(value).strip().lower()
    if text in ("unlimited", "inf", "infinite", "∞"):
        return None
    number = int(text)
    if number < 0:
        raise ValueError("credits cannot be negative")
    return number


def _take_lock(data_dir: Path) -> Any:
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def serve(
    data_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    max_upload_mb: int = 500,
    starting_credits: str | int | None = "100",
    workers: int = 1,
    allow_private_urls: bool | None = None,
    model: str | None = None,
    keep_days: float | None = None,
    diarizer: str = "builtin",
    limits: dict[str, Any] | None = None,
    exit_when_unused: bool = False,
) -> int:
    """Run the backend until interrupted; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        credits_value = parse_credits(starting_credits)
    except ValueError:
        print(
            f"error: --starting-credits must be a number or 'unlimited', not {starting_credits!r}",
            file=sys.stderr,
        )
        return 2
    data = resolve_data_dir(data_dir)
    lock = _take_lock(data)
    if lock is None:
        info = _read_info(data)
        where = f" (pid {info.get('pid')}, {info.get('url')})" if info else ""
        print(f"error: another reelscript backend already serves {data}{where}", file=sys.stderr)
        return 1
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    bound_port = sock.getsockname()[1]
    config = Config(
        data_dir=data,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        starting_credits=credits_value,
        workers=workers,
        allow_private_urls=(host in LOOPBACK) if allow_private_urls is None else allow_private_urls,
        model=model,
        diarizer=diarizer,
        keep_days=keep_days,
        **(limits or {}),
        exit_when_unused=exit_when_unused,
        # Tests shorten these two; the defaults are docs/api.md's (15 s, 15 minutes).
        heartbeat_s=float(os.environ.get("REELSCRIPT_HEARTBEAT_S", "15")),
        stream_limit_s=float(os.environ.get("REELSCRIPT_STREAM_LIMIT_S", str(15 * 60))),
    )
    if config.team:
        config.lease_s = float(os.environ.get("REELSCRIPT_LEASE_S", config.lease_s))
        config.sweep_s = float(os.environ.get("REELSCRIPT_SWEEP_S", config.sweep_s))
    try:
        app = create_app(config)
    except Exception as exc:
        if not config.team:
            raise
        print(f"error: cannot open the team database: {_one_line(exc)}", file=sys.stderr)
        return 1
    url_host = f"[{host}]" if ":" in host else host
    info_path = data / INFO_FILE
    write_json(
        info_path,
        {
            "pid": os.getpid(),
            "host": host,
            "port": bound_port,
            "url": f"http://{url_host}:{bound_port}",
            "server_id": app.state.backend.server_id,
            "diarizer": diarizer,
        },
    )
    print(f"reelscript backend on http://{url_host}:{bound_port} (data: {data})", flush=True)
    try:
        # proxy_headers off: uvicorn would believe X-Forwarded-For from any loopback
        # peer; --trusted-proxy decides that instead (limits.client_address).
        uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                timeout_graceful_shutdown=3,
                proxy_headers=False,
                timeout_keep_alive=KEEP_ALIVE_S,
            )
        ).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping that way is normal
    finally:
        info_path.unlink(missing_ok=True)
        lock.close()
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_info(data_dir: Path) -> dict[str, Any]:
    try:
        value: dict[str, Any] = json.loads((data_dir / INFO_FILE).read_text())
        return value
    except (OSError, ValueError):
        return {}

"""Exports ("renders"): a script written in one format, kept under ``<data>/exports``.

Each export lives in a folder whose name the server chooses (:func:`folder_name`,
a hash of the owning token and the export id), never a path component the
client sent: two tokens using the same export id never share a file, and an id
can only name an export, not a place.  An id is used once per token.

An export runs on the backend's small export thread pool (never on the event
loop, never in the ASR worker), writes to a temp file and renames it into
place, so a failed or interrupted export leaves nothing half-written.
Exports cost no credits.  One started from ``/run_sse`` also adds its
result to that stream.  A ``captioned`` export (the video re-encoded with the
captions in the picture) takes a while: it reports its progress and time left
in its status, and can be cancelled (nothing of it is kept).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request

from tui.backend import rendering
from tui.backend.config import Backend
from tui.backend.errors import Invalid, NotFound, engine_reason
from tui.backend.models import RENDER_ID_PATTERN, RENDER_ID_RULE
from tui.backend.store import Store
from tui.engine.formats.names import FORMATS, output_name


def folder_name(token: str, render_id: str) -> str:
    """The export's folder under ``exports/``: chosen by the server, one per token and id."""
    return hashlib.sha256(f"{token}\0{render_id}".encode()).hexdigest()[:32]


def start(
    backend: Backend,
    token: str,
    session_id: str,
    render_id: str,
    fmt: str,
    video_id: str | None,
    options: dict[str, Any],
) -> str:
    """Queue an export of ``video_id``'s script (default: the session's latest script) and start it."""
    with backend.store.tx() as db:
        queue(backend.store, db, token, session_id, render_id, fmt, video_id, options)
    submit(backend, token, render_id)
    return render_id


def queue(
    store: Store,
    db: sqlite3.Connection,
    token: str,
    session_id: str,
    render_id: str,
    fmt: str,
    video_id: str | None,
    options: dict[str, Any],
    invocation: tuple[str, str] | None = None,
) -> None:
    """Store an export as queued in the open transaction ``db``; :func:`submit` starts it
    once that has committed.

    One that ``/run_sse`` asked for is queued in the same transaction as the
    answer that announces it: from that commit on its invocation has work
    running, so no stream of it ends before the export's result is sent.
    """
    if fmt not in FORMATS:
        raise Invalid(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    if not re.fullmatch(RENDER_ID_PATTERN, render_id):
        raise Invalid(f"invalid export id {render_id!r}: {RENDER_ID_RULE}")
    if video_id is None:
        session = db.execute(
            "SELECT latest_video_id FROM sessions WHERE id=?", (session_id,)
        ).fetchone()
        scripts = store.scripts(session_id)
        video_id = session["latest_video_id"] if session["latest_video_id"] in scripts else None
        if video_id is None and scripts:
            video_id = list(scripts)[-1]
    elif store.file(session_id, video_id) is None:
        raise NotFound(f"file {video_id} not found in this session")
    if video_id is None or store.script(video_id) is None:
        raise Invalid("there is no script to export yet: extract one first")
    inv_id, call_id = invocation or (None, None)
    used = db.execute("SELECT 1 FROM exports WHERE token=? AND id=?", (token, render_id))
    if used.fetchone() is not None:
        raise Invalid(f"export id {render_id} is already used: choose a new id")
    db.execute(
        "INSERT INTO exports (id, token, session_id, video_id, format, options,"
        " invocation_id, call_id, status, created_at) VALUES (?,?,?,?,?,?,?,?,'queued',?)",
        (
            render_id,
            token,
            session_id,
            video_id,
            fmt,
            json.dumps(options),
            inv_id,
            call_id,
            time.time(),
        ),
    )


def submit(backend: Backend, token: str, render_id: str) -> None:
    """Start a queued export on the export threads (its row committed)."""
    backend.exports.submit(_run, backend, token, render_id)


def _run(backend: Backend, token: str, render_id: str) -> None:
    from tui.engine import formats
    from tui.engine.script import Script

    store = backend.store
    with store.tx() as db:
        started = db.execute(
            "UPDATE exports SET status='rendering', progress=0.1 WHERE token=? AND id=?"
            " AND status='queued'",
            (token, render_id),
        )
        if started.rowcount == 0:  # cancelled while queued
            return
        row = db.execute(
            "SELECT e.*, f.path AS media, f.info AS info FROM exports e"
            " JOIN files f ON f.video_id = e.video_id WHERE e.token=? AND e.id=?",
            (token, render_id),
        ).fetchone()
    options = json.loads(row["options"])
    name = Path(json.loads(row["info"]).get("name") or "script").stem
    media = store.located(row["media"])
    try:
        script = Script.from_dict(store.script(row["video_id"]) or {})
        dest = store.exports_dir / folder_name(token, render_id) / output_name(name, row["format"])
        # formats.write is atomic: a temp file beside dest, renamed only when complete
        # (and removed on failure); a killed server's leftovers go at the next start.
        video: dict[str, Any] = {}
        if row["format"] == "captioned":
            video = rendering.hooks(backend, token, render_id, options)
        formats.write(
            script,
            row["format"],
            dest,
            source_media=media,
            timestamps=bool(options.get("timestamps", True)),
            **video,
        )
        _finish(backend, token, render_id, "completed", dest, None)
    except Exception as exc:  # any failure is reported on the export, never raised away
        # The stored media's and the temp file's paths mean nothing to the user: name
        # their file instead, once.
        message = f"{name}: {engine_reason(exc).replace(str(media), name)}"
        _finish(backend, token, render_id, "failed", None, message)
    finally:
        rendering.done(render_id)


def _finish(
    backend: Backend, token: str, render_id: str, status: str, path: Path | None, error: str | None
) -> None:
    store = backend.store
    with store.tx() as db:
        db.execute(
            "UPDATE exports SET status=?, progress=?, path=?, size=?, error=?, finished_at=?"
            " WHERE token=? AND id=?",
            (
                status,
                1.0 if status == "completed" else 0.0,
                store.storage.relative(path) if path else None,
                path.stat().st_size if path else None,
                error,
                time.time(),
                token,
                render_id,
            ),
        )
        row = db.execute(
            "SELECT * FROM exports WHERE token=? AND id=?", (token, render_id)
        ).fetchone()
        if row["invocation_id"]:
            from tui.backend.events import export_finished

            export_finished(store, db, row)


def fail_interrupted(backend: Backend) -> int:
    """On start: exports left queued/rendering by a killed server are failed (nothing kept)."""
    with backend.store.tx() as db:
        cur = db.execute(
            "UPDATE exports SET status='failed', error='interrupted by a server restart; export again',"
            " finished_at=? WHERE status IN ('queued', 'rendering')",
            (time.time(),),
        )
    return cur.rowcount


def download_path(render_id: str) -> str:
    return f"/api/render/proxy/lambda/{render_id}/download"


def _url(row: sqlite3.Row, request: Request | None) -> str:
    path = download_path(row["id"])
    return str(request.base_url).rstrip("/") + path if request is not None else path


def describe(backend: Backend, token: str, render_id: str, request: Request | None) -> dict:
    row = backend.store.db.execute(
        "SELECT * FROM exports WHERE token=? AND id=?", (token, render_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"export {render_id} not found")
    done = row["status"] == "completed"
    return {
        "id": row["id"],
        "status": row["status"],
        "progress": row["progress"],
        "output": {"url": _url(row, request) if done else None},
        "error": row["error"],
        "format": row["format"],
        "video_id": row["video_id"],
        "size": row["size"],
        "eta_s": rendering.eta_s(render_id) if row["status"] == "rendering" else None,
        "note": rendering.note(backend, row),
    }


def media_entry(row: sqlite3.Row, request: Request | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "format": row["format"],
        "url": _url(row, request),
        "size": row["size"],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created_at"])),
        "video_id": row["video_id"],
    }


def file_of(backend: Backend, token: str, render_id: str) -> tuple[Path, str]:
    row = backend.store.db.execute(
        "SELECT path, status FROM exports WHERE token=? AND id=?", (token, render_id)
    ).fetchone()
    if row is None or row["status"] != "completed" or not row["path"]:
        raise NotFound(f"export {render_id} not found or not finished")
    path = backend.store.located(row["path"])
    if not path.exists():
        raise NotFound(f"export {render_id}'s file is gone; export again")
    return path, path.name

"""Stream events in docs/api.md's format, stored so a stream can be replayed and resumed.

Agent events carry ``content.parts`` (text, function_call, function_response);
progress events are ``{job_id, stage, progress, eta_s}``.  Each is a row of
the ``events`` table; its ``seq`` is the SSE ``id:``.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from tui.backend.store import Store

AUTHOR = "reelscript"


def agent_event(invocation_id: str, parts: list[dict[str, Any]], partial: bool = False) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "invocation_id": invocation_id,
        "author": AUTHOR,
        "timestamp": time.time(),
        "partial": partial,
        "content": {"role": "model", "parts": parts},
    }


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"function_call": {"id": call_id, "name": name, "args": args}}


def response(call_id: str, name: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"function_response": {"id": call_id, "name": name, "response": result}}


def add(
    store: Store,
    db: sqlite3.Connection,
    invocation_id: str,
    parts: list[dict[str, Any]],
    partial: bool = False,
) -> int:
    return store.add_event(db, invocation_id, "message", agent_event(invocation_id, parts, partial))


def add_progress(
    store: Store,
    db: sqlite3.Connection,
    invocation_id: str,
    job_id: str,
    stage: str,
    progress: float,
    eta_s: float | None,
) -> int:
    data = {
        "job_id": job_id,
        "stage": stage,
        "progress": round(max(0.0, min(1.0, progress)), 3),
        "eta_s": None if eta_s is None else round(float(eta_s), 1),
    }
    return store.add_event(db, invocation_id, "progress", data)


def export_finished(store: Store, db: sqlite3.Connection, row: sqlite3.Row) -> None:
    """The answer to an export asked for in words, once the file exists (or failed)."""
    from tui.backend.exports import download_path

    result: dict[str, Any] = {"id": row["id"], "status": row["status"], "format": row["format"]}
    if row["status"] == "completed":
        result.update(url=download_path(row["id"]), size=row["size"])
        message = f"Exported {row['format']}: {download_path(row['id'])} ({row['size']} bytes)."
    else:
        result["error"] = row["error"]
        message = f"The {row['format']} export failed: {row['error']}"
    add(
        store,
        db,
        row["invocation_id"],
        [response(row["call_id"] or "", "export", result), text(message)],
    )


def load(data: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(data)
    return value

"""The job queue (a table in SQLite) and its state changes: create, claim, cancel, finish, recover.

A job is created ``queued`` with its estimated credits frozen in the same
transaction; a worker process (see :mod:`tui.backend.worker`) claims it,
marking it ``running`` with a fresh ``claim`` token; every later write by
that worker is conditional on the claim, so a worker orphaned by a killed
server can never overwrite what the restarted server decided.  Finishing
charges or releases the credits in the same transaction as the status
change and the job's last events.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from tui.backend import credits, events
from tui.backend.store import TERMINAL, Store, new_id

#: A job interrupted by a server restart is run again this many times in all, then failed.
MAX_ATTEMPTS = 2


def create(
    store: Store,
    db: sqlite3.Connection,
    *,
    session_id: str,
    token: str,
    invocation_id: str,
    call_id: str,
    video_id: str,
    options: dict[str, Any],
    cost: int,
    kind: str = "script",
) -> str:
    """Queue a job inside transaction ``db``; raises NotEnoughCredits (nothing written).

    ``kind`` is ``script`` (extract) or ``translate`` (a script in English,
    ``options["task"] == "translate"``); both run the same engine call.
    """
    job_id = new_id("job")
    db.execute(
        "INSERT INTO jobs (id, session_id, token, invocation_id, call_id, kind, video_id, status,"
        " options, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
        (
            job_id,
            session_id,
            token,
            invocation_id,
            call_id,
            kind,
            video_id,
            json.dumps(options),
            time.time(),
        ),
    )
    credits.freeze(db, token, job_id, cost)
    store.queued(job_id)  # a team's queue gets its message once this commits
    return job_id


def claim(store: Store, worker_pid: int) -> sqlite3.Row | None:
    """Take the oldest queued job for this worker, or None."""
    with store.tx() as db:
        row = db.execute(
            f"SELECT id FROM jobs WHERE status='queued' ORDER BY created_at, {store.insertion} LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        token = uuid.uuid4().hex
        db.execute(
            "UPDATE jobs SET status='running', stage='probing', progress=0, claim=?,"
            " attempts=attempts+1, worker_pid=?, started_at=? WHERE id=?",
            (token, worker_pid, time.time(), row["id"]),
        )
        job: sqlite3.Row | None = db.execute(
            "SELECT j.*, f.path AS media, f.info AS info FROM jobs j"
            " JOIN files f ON f.video_id = j.video_id WHERE j.id=?",
            (row["id"],),
        ).fetchone()
        return job


def public(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "video_id": row["video_id"],
        "status": row["status"],
        "stage": row["stage"],
        "progress": row["progress"],
        "error": row["error"],
        "error_code": row["error_code"],
    }


def finish(
    store: Store,
    db: sqlite3.Connection,
    job: sqlite3.Row,
    status: str,
    *,
    claim_token: str | None,
    used: int = 0,
    error: str | None = None,
    error_code: int | None = None,
    result: dict[str, Any] | None = None,
    message: str = "",
) -> bool:
    """End a job inside ``db``: status, credits, and its closing events. False if not ours."""
    where, args = "id=? AND status NOT IN ('completed','failed','cancelled')", [job["id"]]
    if claim_token is not None:
        where += " AND claim=?"
        args.append(claim_token)
    cur = db.execute(
        f"UPDATE jobs SET status=?, error=?, error_code=?, finished_at=?,"
        f" progress=CASE WHEN ?='completed' THEN 1.0 ELSE progress END WHERE {where}",
        (status, error, error_code, time.time(), status, *args),
    )
    if cur.rowcount == 0:
        return False
    charged = credits.settle(db, job["id"], used if status == "completed" else 0)
    if job["invocation_id"]:
        response = {"job_id": job["id"], "status": status, "credits_charged": charged}
        response.update(result or {})
        if error:
            response.update(error=error, error_code=error_code)
        events.add(
            store,
            db,
            job["invocation_id"],
            [
                # Answers the function_call that queued the job (extract or translate).
                events.response(job["call_id"] or "", _action_of(job), response),
                events.text(message or error or status),
            ],
        )
    return True


def _action_of(job: sqlite3.Row) -> str:
    return "translate" if job["kind"] == "translate" else "extract"


def request_cancel(store: Store, job_id: str, token: str) -> dict[str, Any] | None:
    """Cancel a job of ``token``: a queued one at once, a running one at its next check."""
    with store.tx() as db:
        row = db.execute("SELECT * FROM jobs WHERE id=? AND token=?", (job_id, token)).fetchone()
        if row is None:
            return None
        if row["status"] == "queued":
            finish(
                store,
                db,
                row,
                "cancelled",
                claim_token=None,
                message="Cancelled before it started.",
            )
        elif row["status"] == "running":
            db.execute("UPDATE jobs SET cancel_requested=1 WHERE id=?", (job_id,))
        row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    return public(row)


def cancel_requested(store: Store, job_id: str, claim_token: str) -> bool:
    """True when the job was cancelled, or is no longer this worker's (so it should stop)."""
    row = store.db.execute(
        "SELECT cancel_requested, claim, status FROM jobs WHERE id=?", (job_id,)
    ).fetchone()
    return row is None or bool(row["cancel_requested"]) or row["claim"] != claim_token


def recover(store: Store, worker_pid: int | None = None, reason: str = "") -> tuple[int, int]:
    """Running jobs whose worker is gone: requeue (resume) or, after MAX_ATTEMPTS, fail.

    With ``worker_pid`` only that worker's jobs; without, every running job
    (on start, when no worker of ours can be alive).  Returns (resumed, failed).
    """
    resumed = failed = 0
    with store.tx() as db:
        query = "SELECT * FROM jobs WHERE status='running'"
        args: tuple[Any, ...] = ()
        if worker_pid is not None:
            query += " AND worker_pid=?"
            args = (worker_pid,)
        for job in db.execute(query, args).fetchall():
            if interrupted(store, db, job, reason):
                db.execute(
                    "UPDATE jobs SET status='queued', claim=NULL, worker_pid=NULL, stage=NULL,"
                    " progress=0, eta_s=NULL WHERE id=?",
                    (job["id"],),
                )
                resumed += 1
            elif not job["cancel_requested"]:
                failed += 1
    return resumed, failed


def interrupted(store: Any, db: Any, job: Any, reason: str) -> bool:
    """A running job whose worker went away: True if it may run again (the stream is
    told it starts again); else it is ended here, cancelled or failed with its credits
    released after MAX_ATTEMPTS."""
    if job["cancel_requested"]:
        finish(store, db, job, "cancelled", claim_token=None, message="Cancelled.")
        return False
    if job["attempts"] >= MAX_ATTEMPTS:
        finish(
            store,
            db,
            job,
            "failed",
            claim_token=None,
            error=f"interrupted ({reason}) {job['attempts']} times; credits released",
            error_code=500,
        )
        return False
    if job["invocation_id"]:
        events.add(
            store,
            db,
            job["invocation_id"],
            [events.text(f"The job was interrupted ({reason}); it starts again.")],
        )
    return True


def is_terminal(status: str) -> bool:
    return status in TERMINAL

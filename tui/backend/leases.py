"""Leases, not pids: who runs a job in a team, takeover when a worker dies, the sweeper.

A worker that takes a job holds a lease (``lease_until``) it renews while it
runs.  A message for a job whose lease lapsed is a takeover: the job says
"interrupted, starts again" on its stream and runs once more, or fails with
its credits released after :data:`jobs.MAX_ATTEMPTS`.  A message for a job
that is finished, or running under a live lease, is a duplicate and does
nothing, so a message delivered twice runs its job once.  Credits are settled
by the conditional ``jobs.finish``: a job is charged once or released, never
both.

The sweeper runs in the one API process that holds a session advisory lock
(the lock passes to another process when its holder dies): it expires lapsed
leases (and sends their jobs again), sends a new message for a queued job
whose message the broker no longer holds, and fails exports left rendering by
an API process that died.  ``nodes`` lists the API and worker processes with
their last sign of life (``/api/health`` counts the live workers).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

from tui.backend import jobs

log = logging.getLogger("reelscript.leases")
SWEEP_LOCK = 0x72656570
#: A queued job is given this long for its message to reach the broker before the
#: sweeper sends another.
SEND_GRACE_S = 5.0
#: An export still rendering after this long was left by an API process that died.
EXPORT_STALE_S = 600.0


def take(store: Any, job_id: str, node: str, lease_s: float) -> Any:
    """Claim ``job_id`` for worker ``node`` (a new lease), or None when it is not to run."""
    now = time.time()
    with store.tx() as db:
        job = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if job is None or jobs.is_terminal(job["status"]):
            return None
        if job["status"] == "running":
            if (job["lease_until"] or 0) > now:
                return None  # another worker holds it: a duplicate message
            if not _lapsed(store, db, job):
                return None
        claim = uuid.uuid4().hex
        db.execute(
            "UPDATE jobs SET status='running', stage='probing', progress=0, eta_s=NULL, claim=?,"
            " attempts=attempts+1, worker=?, worker_pid=NULL, lease_until=?, started_at=?"
            " WHERE id=?",
            (claim, node, now + lease_s, now, job_id),
        )
        db.execute("UPDATE nodes SET job_id=? WHERE id=?", (job_id, node))
        return db.execute(
            "SELECT j.*, f.path AS media, f.info AS info FROM jobs j"
            " JOIN files f ON f.video_id = j.video_id WHERE j.id=?",
            (job_id,),
        ).fetchone()


def _lapsed(store: Any, db: Any, job: Any) -> bool:
    """A running job whose lease lapsed: True if it may run again (else it was ended)."""
    return jobs.interrupted(store, db, job, "its worker stopped answering")


def renew(store: Any, job_id: str, claim: str, lease_s: float) -> bool:
    """Extend a lease; False when the job is no longer this worker's."""
    cur = store.db.execute(
        "UPDATE jobs SET lease_until=? WHERE id=? AND claim=? AND status='running'",
        (time.time() + lease_s, job_id, claim),
    )
    return bool(cur.rowcount)


# -- nodes -------------------------------------------------------------------------
def register(store: Any, kind: str, device: str = "", model: str = "") -> str:
    node = f"{kind}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    now = time.time()
    store.db.execute(
        "INSERT INTO nodes (id, kind, host, pid, device, model, started_at, seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (node, kind, socket.gethostname(), os.getpid(), device, model, now, now),
    )
    return node


def beat(store: Any, node: str, job_id: str | None = None, done: bool = False) -> None:
    store.db.execute(
        "UPDATE nodes SET seen_at=?, job_id=?, jobs_done=jobs_done+? WHERE id=?",
        (time.time(), job_id, int(done), node),
    )


def leave(store: Any, node: str) -> None:
    store.db.execute("DELETE FROM nodes WHERE id=?", (node,))


def live_workers(store: Any, lease_s: float) -> list[dict[str, Any]]:
    rows = store.db.execute(
        "SELECT id, host, pid, device, model, job_id, started_at, seen_at, jobs_done"
        " FROM nodes WHERE kind='worker' AND seen_at > ? ORDER BY started_at",
        (time.time() - lease_s,),
    ).fetchall()
    return [dict(r) for r in rows]


# -- the sweeper -------------------------------------------------------------------
def elect(store: Any) -> bool:
    """Whether this process is the sweeper: it holds the lock on its own connection."""
    conn = getattr(store, "_sweeper_conn", None)
    if conn is None or conn.raw.closed:
        from tui.backend.store_pg import PgConnection

        conn = store._sweeper_conn = PgConnection(store.url)
    row = conn.execute("SELECT pg_try_advisory_lock(?)", (SWEEP_LOCK,)).fetchone()
    return bool(row and row[0])


def sweep(store: Any, dispatcher: Any) -> dict[str, int]:
    """One pass of the sweeper (call only where :func:`elect` said so)."""
    now = time.time()
    counts = {"expired": 0, "sent": 0, "exports": 0}
    lapsed = store.db.execute(
        "SELECT id FROM jobs WHERE status='running' AND COALESCE(lease_until, 0) < ?", (now,)
    ).fetchall()
    for (job_id,) in lapsed:
        with store.tx() as db:
            job = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if job["status"] != "running" or (job["lease_until"] or 0) >= time.time():
                continue
            if _lapsed(store, db, job):
                db.execute(
                    "UPDATE jobs SET status='queued', claim=NULL, worker=NULL, stage=NULL,"
                    " progress=0, eta_s=NULL, message_id=NULL WHERE id=?",
                    (job_id,),
                )
                store.queued(job_id)
            counts["expired"] += 1
    waiting = store.db.execute(
        "SELECT id, message_id FROM jobs WHERE status='queued' AND created_at < ?",
        (now - SEND_GRACE_S,),
    ).fetchall()
    for job_id, message_id in waiting:
        if not dispatcher.holds(message_id):
            dispatcher.send(job_id)
            counts["sent"] += 1
    with store.tx() as db:
        stale = db.execute(
            "UPDATE exports SET status='failed', error=?, finished_at=? WHERE status IN"
            " ('queued','rendering') AND created_at < ?",
            ("interrupted: the server rendering it stopped; export again", now,
             now - EXPORT_STALE_S),
        )  # fmt: skip
        counts["exports"] = stale.rowcount
        db.execute("DELETE FROM nodes WHERE seen_at < ?", (now - 24 * 3600,))
    if counts["expired"] or counts["sent"] or counts["exports"]:
        log.warning("sweeper: %s", counts)
    return counts

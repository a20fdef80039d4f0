"""Anonymous tokens and their credits: issue, authenticate, freeze, charge, release.

A token's account keeps ``total`` (credits owned) and ``frozen`` (held by
running jobs); ``available = total - frozen`` never goes below zero because a
freeze is refused when it would.  Every movement is also a ``ledger`` row, so
the balance can be audited.  A token made with unlimited credits (the app's
own embedded backend) has ``available``/``total`` ``null`` and
``unlimited: true``: clients show ∞.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from typing import Any

from tui.backend.store import Store, hash_token

TOKEN_LIFETIME_S = 7 * 24 * 3600
#: Media minutes per credit: one credit per started minute.
MS_PER_CREDIT = 60_000


class RateLimited(Exception):
    """A client id asked for a second token within a token's lifetime."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"this client already has a token; retry in {retry_after} s")


class NotEnoughCredits(Exception):
    def __init__(self, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        super().__init__(
            f"this needs {needed} credit(s) and {available} are available"
            " (1 credit per started minute of media)"
        )


def cost_of(duration_ms: int | None) -> int:
    """Credits for media of this length: one per started minute, at least one."""
    return max(1, math.ceil((duration_ms or 0) / MS_PER_CREDIT))


def issue_token(store: Store, client_id: str, starting_credits: int | None) -> dict[str, Any]:
    """Make a token for ``client_id``; ``starting_credits`` None means unlimited."""
    now = time.time()
    token = secrets.token_urlsafe(32)
    with store.tx() as db:
        last = db.execute(
            "SELECT created_at FROM tokens WHERE client_id=? ORDER BY created_at DESC LIMIT 1",
            (client_id,),
        ).fetchone()
        if last is not None and last["created_at"] > now - TOKEN_LIFETIME_S:
            raise RateLimited(max(1, int(last["created_at"] + TOKEN_LIFETIME_S - now) + 1))
        unlimited = starting_credits is None
        total = 0 if unlimited else int(starting_credits or 0)
        digest = hash_token(token)
        db.execute(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, 0)",
            (digest, client_id, now, now + TOKEN_LIFETIME_S, int(unlimited), total),
        )
        _ledger(db, digest, None, "grant", total)
    return {
        "token": token,
        "credits": None if unlimited else total,
        "unlimited": unlimited,
        "expires_at": _iso(now + TOKEN_LIFETIME_S),
    }


def authenticate(store: Store, token: str) -> str | None:
    """The stored hash of a live token, or None for a missing, bad or expired one."""
    digest = hash_token(token)
    row = store.db.execute("SELECT expires_at FROM tokens WHERE hash=?", (digest,)).fetchone()
    if row is None or row["expires_at"] <= time.time():
        return None
    return digest


def balance(store: Store, token: str) -> dict[str, Any]:
    row = store.db.execute(
        "SELECT total, frozen, unlimited FROM tokens WHERE hash=?", (token,)
    ).fetchone()
    if row["unlimited"]:
        return {
            "available": None,
            "frozen": row["frozen"],
            "total": None,
            "unlimited": True,
            "display": "∞",
        }
    available = row["total"] - row["frozen"]
    return {
        "available": available,
        "frozen": row["frozen"],
        "total": row["total"],
        "unlimited": False,
        "display": str(available),
    }


def freeze(db: sqlite3.Connection, token: str, job_id: str, amount: int) -> None:
    """Hold ``amount`` for a job inside transaction ``db``; raises NotEnoughCredits."""
    row = db.execute(
        "SELECT total, frozen, unlimited FROM tokens WHERE hash=?", (token,)
    ).fetchone()
    if not row["unlimited"] and row["total"] - row["frozen"] < amount:
        raise NotEnoughCredits(amount, row["total"] - row["frozen"])
    db.execute("UPDATE tokens SET frozen = frozen + ? WHERE hash=?", (amount, token))
    db.execute("UPDATE jobs SET frozen=? WHERE id=?", (amount, job_id))
    _ledger(db, token, job_id, "freeze", amount)


def settle(db: sqlite3.Connection, job_id: str, used: int) -> int:
    """End a job's hold: charge ``used`` (0 for failed/cancelled, at most what was
    frozen) and release the rest.  Idempotent: a settled job holds nothing."""
    job = db.execute("SELECT token, frozen FROM jobs WHERE id=?", (job_id,)).fetchone()
    held = int(job["frozen"])
    if held <= 0:
        return 0
    charge = max(0, min(used, held))
    db.execute(
        "UPDATE tokens SET frozen = MAX(0, frozen - ?), total = total - ? WHERE hash=?",
        (held, charge, job["token"]),
    )
    db.execute("UPDATE jobs SET frozen=0, charged=charged + ? WHERE id=?", (charge, job_id))
    if charge:
        _ledger(db, job["token"], job_id, "charge", charge)
    if held - charge:
        _ledger(db, job["token"], job_id, "release", held - charge)
    return charge


def _ledger(db: sqlite3.Connection, token: str, job_id: str | None, kind: str, amount: int) -> None:
    db.execute(
        "INSERT INTO ledger (token, job_id, kind, amount, created_at) VALUES (?, ?, ?, ?, ?)",
        (token, job_id, kind, amount, time.time()),
    )


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

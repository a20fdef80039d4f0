"""Anonymous tokens and their credits: issue, authenticate, freeze, charge, release.

A client keeps a secret beside its client id (``X-Client-Secret``); the first
token of a client id records the secret's hash, and a later request proving it
gets a replacement token for the same account (a token lost before it was
stored, or expired, never locks the client out nor costs it its sessions).

A token's account keeps ``total`` (credits owned) and ``frozen`` (held by
running jobs); ``available = total - frozen`` never goes below zero because a
freeze is refused when it would.  Every movement is also a ``ledger`` row, so
the balance can be audited.  A token made with unlimited credits (the app's
own embedded backend) has ``available``/``total`` ``null`` and
``unlimited: true``: clients show ∞.
"""

from __future__ import annotations

import hmac
import math
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from tui.backend.store import Store, hash_token
from tui.engine.writing import plural

TOKEN_LIFETIME_S = 7 * 24 * 3600
#: Media minutes per credit: one credit per started minute.
MS_PER_CREDIT = 60_000


class RateLimited(Exception):
    """A token refused for now: the client id has one, or the address made too many."""

    def __init__(self, retry_after: int, message: str, reason: str = "address") -> None:
        self.retry_after, self.reason = retry_after, reason
        super().__init__(message)


class ClientIdTaken(Exception):
    """The client id belongs to a client whose secret this request does not prove."""


class NotEnoughCredits(Exception):
    def __init__(self, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        super().__init__(
            f"this needs {plural(needed, 'credit')} and {available} are available"
            " (1 credit per started minute of media)"
        )


def cost_of(duration_ms: int | None) -> int:
    """Credits for media of this length: one per started minute, at least one."""
    return max(1, math.ceil((duration_ms or 0) / MS_PER_CREDIT))


@dataclass(frozen=True)
class TokenRequest:
    """Who asks for a token: the client id (compared lower-case), the secret it keeps
    beside it (or None), the caller's address and that address's hourly allowance."""

    client_id: str
    secret: str | None = None
    source: str = "unknown"
    per_hour: int = 0


def issue_token(
    store: Store, asked: TokenRequest | str, starting_credits: int | None
) -> dict[str, Any]:
    """A token for ``asked.client_id``; ``starting_credits`` None means unlimited.

    A client id seen before, asked with the secret it first came with, gets a new
    token for the *same* account (sessions, scripts and credits kept: a lost or
    expired token is replaced, never a second account).  A new client id starts an
    account, at most ``per_hour`` per address per hour.
    """
    if isinstance(asked, str):
        asked = TokenRequest(client_id=asked)
    now = time.time()
    client_id = asked.client_id.strip().lower()
    secret = hash_token(asked.secret) if asked.secret else None
    with store.tx() as db:
        account = db.execute(
            "SELECT * FROM tokens WHERE client_id=? AND account IS NULL"
            " ORDER BY created_at DESC LIMIT 1",
            (client_id,),
        ).fetchone()
        if account is not None and account["secret"]:
            if secret is None or not hmac.compare_digest(secret, account["secret"]):
                raise ClientIdTaken(
                    "this client id belongs to another client (X-Client-Secret does not"
                    " match it): make a new client id"
                )
            return _replace(db, account, asked.source, starting_credits, now)
        last = db.execute(
            "SELECT MAX(created_at) FROM tokens WHERE client_id=?", (client_id,)
        ).fetchone()[0]
        if last is not None and last > now - TOKEN_LIFETIME_S:
            retry = max(1, int(last + TOKEN_LIFETIME_S - now) + 1)
            raise RateLimited(
                retry,
                f"this client id already has a token until {_iso(last + TOKEN_LIFETIME_S)}"
                " and no client secret proves it: use a new client id",
                reason="client_id",
            )
        _check_address(db, asked, now)
        unlimited = starting_credits is None
        total = 0 if unlimited else int(starting_credits or 0)
        token, digest = _new_token()
        db.execute(
            "INSERT INTO tokens (hash, client_id, created_at, expires_at, unlimited, total,"
            " frozen, source, secret) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (digest, client_id, now, now + TOKEN_LIFETIME_S, int(unlimited), total,
             asked.source, secret),
        )  # fmt: skip
        _ledger(db, digest, None, "grant", total)
    return {
        "token": token,
        "credits": None if unlimited else total,
        "unlimited": unlimited,
        "expires_at": _iso(now + TOKEN_LIFETIME_S),
    }


def _check_address(db: sqlite3.Connection, asked: TokenRequest, now: float) -> None:
    if asked.per_hour <= 0:
        return
    count, oldest = db.execute(
        "SELECT COUNT(*), MIN(created_at) FROM tokens WHERE source=? AND account IS NULL"
        " AND created_at > ?",
        (asked.source, now - 3600),
    ).fetchone()
    if count >= asked.per_hour:
        retry = max(1, int(oldest + 3600 - now) + 1)
        raise RateLimited(
            retry,
            f"this address got {count} new tokens in the last hour (the limit); retry in {retry} s",
        )


def _replace(
    db: sqlite3.Connection,
    account: sqlite3.Row,
    source: str,
    starting_credits: int | None,
    now: float,
) -> dict[str, Any]:
    """A new token acting for ``account``; once a token lifetime after its last grant,
    the account is topped up to the starting credits (as a new token would start)."""
    owner = account["hash"]
    granted = db.execute(
        "SELECT MAX(created_at) FROM ledger WHERE token=? AND kind='grant'", (owner,)
    ).fetchone()[0]
    if not account["unlimited"] and starting_credits is not None:
        if granted is None or granted <= now - TOKEN_LIFETIME_S:
            top_up = max(0, int(starting_credits) - int(account["total"]))
            db.execute("UPDATE tokens SET total = total + ? WHERE hash=?", (top_up, owner))
            _ledger(db, owner, None, "grant", top_up)
    token, digest = _new_token()
    db.execute(
        "INSERT INTO tokens (hash, client_id, created_at, expires_at, unlimited, total, frozen,"
        " source, account) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
        (digest, account["client_id"], now, now + TOKEN_LIFETIME_S, account["unlimited"],
         source, owner),
    )  # fmt: skip
    row = db.execute("SELECT total, frozen FROM tokens WHERE hash=?", (owner,)).fetchone()
    unlimited = bool(account["unlimited"])
    return {
        "token": token,
        "credits": None if unlimited else row["total"] - row["frozen"],
        "unlimited": unlimited,
        "expires_at": _iso(now + TOKEN_LIFETIME_S),
        "replaced": True,
    }


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def authenticate(store: Store, token: str) -> str | None:
    """The account a live token acts for (the stored hash of its first token), or None
    for a missing, bad or expired one."""
    digest = hash_token(token)
    row = store.db.execute(
        "SELECT expires_at, account FROM tokens WHERE hash=?", (digest,)
    ).fetchone()
    if row is None or row["expires_at"] <= time.time():
        return None
    return str(row["account"] or digest)


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
        "UPDATE tokens SET frozen = CASE WHEN frozen > ? THEN frozen - ? ELSE 0 END,"
        " total = total - ? WHERE hash=?",
        (held, held, charge, job["token"]),
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

"""The SQLite store: versioned schema, a rollback journal (no mmap'd -shm), credits that never go negative."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui.backend import credits, jobs
from tui.backend.schema import MIGRATIONS
from tui.backend.store import Store


def test_schema_is_versioned_and_reopening_keeps_data(tmp_path: Path) -> None:
    store = Store(tmp_path)
    token = credits.issue_token(store, "client-1", 5)["token"]
    server_id = store.server_id
    store.close()
    again = Store(tmp_path)
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "persist"
    assert again.db.execute("PRAGMA mmap_size").fetchone()[0] == 0
    assert credits.authenticate(again, token) is not None and again.server_id == server_id


def test_freeze_never_makes_credits_negative(tmp_path: Path) -> None:
    store = Store(tmp_path)
    token = credits.authenticate(store, credits.issue_token(store, "c", 3)["token"])
    assert token
    sid = store.create_session(token, "p", "en")["session_id"]
    with store.tx() as db:
        db.execute("INSERT INTO files VALUES ('v1', ?, 'x', '/x', '{}', 0)", (sid,))
    kwargs = dict(
        session_id=sid, token=token, invocation_id="i", call_id="c", video_id="v1", options={}
    )
    with store.tx() as db:
        first = jobs.create(store, db, cost=2, **kwargs)
    with pytest.raises(credits.NotEnoughCredits), store.tx() as db:
        jobs.create(store, db, cost=2, **kwargs)
    assert store.db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1  # rolled back whole
    assert credits.balance(store, token) == {
        "available": 1,
        "frozen": 2,
        "total": 3,
        "unlimited": False,
        "display": "1",
    }
    with store.tx() as db:
        row = db.execute("SELECT * FROM jobs WHERE id=?", (first,)).fetchone()
        jobs.finish(store, db, row, "completed", claim_token=None, used=5)  # never more than frozen
    assert credits.balance(store, token)["total"] == 1
    with store.tx() as db:  # settling twice changes nothing
        assert credits.settle(db, first, 1) == 0
    assert credits.balance(store, token) == {
        "available": 1,
        "frozen": 0,
        "total": 1,
        "unlimited": False,
        "display": "1",
    }


def test_the_database_file_is_plain_sqlite(tmp_path: Path) -> None:
    Store(tmp_path)
    with sqlite3.connect(tmp_path / "reelscript.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "tokens",
        "ledger",
        "sessions",
        "files",
        "scripts",
        "script_revisions",
        "jobs",
        "events",
        "exports",
    } <= tables

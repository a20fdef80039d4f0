"""The store on PostgreSQL (psycopg 3): the same interface and SQL as the SQLite store.

The shared SQL is written portably (``?`` and ``:name`` placeholders, no
``rowid``, ``RETURNING`` and ``ON CONFLICT``); :class:`PgConnection` turns the
placeholders into psycopg's and hands back rows readable by name and by
position, as ``sqlite3.Row`` is.  Where SQLite serialises writers with
``BEGIN IMMEDIATE``, every write transaction here first takes one
transaction-level advisory lock, so each check-then-write stays correct with
many API and worker processes (credits freeze, the token limit, the script
revision check, file de-duplication) and events are numbered in commit
order: a stream that read up to event ``n`` never misses an event that
commits later with a smaller number.  An event also sends ``NOTIFY`` in its
transaction, delivered at commit, which wakes the streams of every API
process (see :mod:`tui.backend.notify`).  Connections are in autocommit mode
outside :meth:`PgStore.tx` and :meth:`PgStore.snapshot`, so no idle
transaction holds an old snapshot.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg

from tui.backend.storage import LocalStorage
from tui.backend.store import Store, dumps

#: pg_advisory_xact_lock keys: every write transaction, and the one-time schema set-up.
WRITE_LOCK, SCHEMA_LOCK = 0x7265656C, 0x7265656D
#: The NOTIFY channel of new events; the payload is the invocation id.
CHANNEL = "reelscript_events"

SCHEMA = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL, unlimited INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0, frozen INTEGER NOT NULL DEFAULT 0,
        source TEXT, secret TEXT, account TEXT);
    CREATE INDEX tokens_client ON tokens (client_id, created_at);
    CREATE INDEX tokens_source ON tokens (source, created_at);
    CREATE TABLE ledger (
        id BIGSERIAL PRIMARY KEY, token TEXT NOT NULL, job_id TEXT,
        kind TEXT NOT NULL, amount INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY, token TEXT NOT NULL, task_id TEXT NOT NULL,
        task_name TEXT NOT NULL, language TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        latest_video_id TEXT, used_at DOUBLE PRECISION);
    CREATE TABLE files (
        video_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, sha256 TEXT NOT NULL,
        path TEXT NOT NULL, info TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        ord BIGSERIAL);
    CREATE INDEX files_session ON files (session_id, created_at);
    CREATE TABLE scripts (
        video_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, revision INTEGER NOT NULL,
        data TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
    CREATE TABLE script_revisions (
        video_id TEXT NOT NULL, revision INTEGER NOT NULL, data TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (video_id, revision));
    CREATE TABLE invocations (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL, message TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, pending TEXT);
    CREATE INDEX invocations_pending ON invocations (created_at) WHERE pending IS NOT NULL;
    CREATE TABLE events (
        seq BIGSERIAL PRIMARY KEY, invocation_id TEXT NOT NULL,
        kind TEXT NOT NULL, data TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
    CREATE INDEX events_invocation ON events (invocation_id, seq);
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL, token TEXT NOT NULL,
        invocation_id TEXT, call_id TEXT, kind TEXT NOT NULL, video_id TEXT,
        status TEXT NOT NULL, stage TEXT, progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        eta_s DOUBLE PRECISION, error TEXT, error_code INTEGER,
        options TEXT NOT NULL DEFAULT '{}',
        frozen INTEGER NOT NULL DEFAULT 0, charged INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0, claim TEXT, worker_pid INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL, started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        worker TEXT, lease_until DOUBLE PRECISION, message_id TEXT, ord BIGSERIAL);
    CREATE INDEX jobs_status ON jobs (status, created_at);
    CREATE INDEX jobs_session ON jobs (session_id, created_at);
    CREATE TABLE exports (
        id TEXT NOT NULL, token TEXT NOT NULL, session_id TEXT NOT NULL,
        video_id TEXT NOT NULL, format TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',
        invocation_id TEXT, call_id TEXT, status TEXT NOT NULL,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0, path TEXT, size INTEGER, error TEXT,
        created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION,
        owner TEXT, PRIMARY KEY (token, id));
    CREATE INDEX exports_session ON exports (session_id, created_at);
    CREATE TABLE nodes (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
        device TEXT, model TEXT, job_id TEXT, started_at DOUBLE PRECISION NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL, jobs_done INTEGER NOT NULL DEFAULT 0);
    """,
    # 2: remembered voices per client identity, and each file's speaker prints
    # (tui/backend/voices_store.py; the SQLite store's migration 5)
    """
    CREATE TABLE voices (
        owner TEXT NOT NULL, name TEXT NOT NULL, encoder TEXT NOT NULL,
        centroids TEXT NOT NULL, files INTEGER NOT NULL DEFAULT 0,
        last_heard DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (owner, name));
    CREATE TABLE voiceprints (
        video_id TEXT NOT NULL, speaker TEXT NOT NULL, encoder TEXT NOT NULL,
        vector TEXT NOT NULL, seconds DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY (video_id, speaker));
    """,
]

_PLACEHOLDER = re.compile(r"\?|(?<![:\w]):([A-Za-z_]\w*)|%")


def _sql(query: str) -> str:
    """``?`` -> ``%s``, ``:name`` -> ``%(name)s``, a literal ``%`` -> ``%%``."""

    def swap(match: re.Match[str]) -> str:
        if match.group(0) == "?":
            return "%s"
        if match.group(0) == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _PLACEHOLDER.sub(swap, query)


def _one(cursor: Any) -> Any:
    """The first column of a query's one row."""
    row = cursor.fetchone()
    assert row is not None
    return row[0]


def _text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL (SQLite's can): a NUL in a message is stored as U+FFFD."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, as ``sqlite3.Row``."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}

    def make(values: Any) -> Row:
        row = Row(values)
        row._names = names
        return row

    return make


class PgConnection:
    """A psycopg connection that speaks the store's portable SQL."""

    def __init__(self, url: str) -> None:
        self.raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory)

    def execute(self, query: str, params: Any = None) -> psycopg.Cursor[Any]:
        if params is None:  # not parsed for placeholders
            return self.raw.execute(query)
        if isinstance(params, dict):
            params = {key: _text(value) for key, value in params.items()}
        else:
            params = [_text(value) for value in params]
        return self.raw.execute(_sql(query), params)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection (as ``sqlite3.Connection``'s)."""
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class PgStore(Store):
    """The database of a team: PostgreSQL at ``url``, files under ``storage_root``."""

    insertion = "ord"

    def __init__(self, url: str, storage_root: Path) -> None:
        self.url = url
        self.data_dir = Path(storage_root)
        self._open_storage(LocalStorage(self.data_dir))

    @property
    def db(self) -> PgConnection:  # type: ignore[override]
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed:
            conn = PgConnection(self.url)
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self) -> Iterator[PgConnection]:  # type: ignore[override]
        """A write transaction, serialised with every other by the write lock."""
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            yield db
            db.execute("COMMIT")
        except BaseException:
            with suppress(psycopg.Error):
                db.execute("ROLLBACK")
            self._rolled_back()
            raise
        self._committed()

    @contextmanager
    def snapshot(self) -> Iterator[PgConnection]:  # type: ignore[override]
        db = self.db
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield db
        finally:
            with suppress(psycopg.Error):
                db.execute("ROLLBACK")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def migrate(self) -> int:
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            exists = _one(db.execute("SELECT to_regclass('meta') IS NOT NULL"))
            version = 0
            if exists:
                row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else 0
            for index in range(version, len(SCHEMA)):
                db.execute(SCHEMA[index])
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                    (str(index + 1),),
                )
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('server_id', ?) ON CONFLICT DO NOTHING",
                (uuid.uuid4().hex,),
            )
            db.execute("COMMIT")
        except BaseException:
            with suppress(psycopg.Error):
                db.execute("ROLLBACK")
            raise
        return len(SCHEMA)

    def add_event(self, db: Any, invocation_id: str, kind: str, data: dict[str, Any]) -> int:
        row = db.execute(
            "INSERT INTO events (invocation_id, kind, data, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING seq",
            (invocation_id, kind, dumps(data), time.time()),
        ).fetchone()
        db.execute("SELECT pg_notify(?, ?)", (CHANNEL, invocation_id))
        return int(row[0])

"""SQLite storage of the backend: one database under the data dir.

Holds tokens (hashed), sessions, files, scripts with their revisions, jobs,
stream events, exports and the credits ledger.  The schema is versioned in
``PRAGMA user_version`` and migrated forward on open; every state change runs
in one ``BEGIN IMMEDIATE`` transaction, so a killed server never leaves half
a change behind.  Both the API process and the worker processes open it.

The database uses a rollback journal, not WAL, and no memory-mapped I/O: in WAL
mode every connection maps the ``-shm`` file (``MAP_SHARED``) and writes to it
as memory, and when the data dir stops taking writes (immutable, read-only,
full, gone) the kernel can only answer such a write with SIGBUS, killing the
process with no log line.  Through ``write()`` calls the same refusal is an
SQLite error (a one-line 500) while reads go on, and processes still share
the database by file locks.  The journal is kept (``PERSIST``): 0.65 ms a
transaction on the development machine, 12 ms with ``DELETE`` (WAL: 0.09 ms).

A database file removed under a running server stays readable through the
connections that have it open, and must stay the only database at its path:
SQLite finds a connection's journal by *path*, so a new database made where
the old one was (its first transaction's journal records 0 pages) would be
taken by the old connections for their own hot journal and rolled back into
the old file, emptying it.  Only the process that owns the data dir (the
server, the CLI) makes it; the processes the server starts open it with
``create=False``, and a write is refused once the file at the path is no
longer the one this store opened.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tui.backend.schema import MIGRATIONS
from tui.backend.storage import LocalStorage

DB_NAME = "reelscript.db"

TERMINAL = ("completed", "failed", "cancelled")


def hash_token(token: str) -> str:
    """Tokens are stored only as their SHA-256, so a copied database grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _end(db: sqlite3.Connection) -> None:
    """Roll back what is still open (a failed COMMIT leaves it so; an I/O error may
    have rolled it back already), keeping the error that got here."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


class Store:
    """The database of one data dir; one connection per thread (sqlite3 objects are not shared)."""

    #: The column that orders rows of one timestamp as they were inserted.
    insertion = "rowid"
    #: Read through by a thread whose first connection comes after the file is gone or replaced.
    _spare: sqlite3.Connection | None
    #: (device, inode) of the database file the spare has open.
    _file: tuple[int, int] | None = None

    def __init__(self, data_dir: Path, create: bool = True) -> None:
        """``create=False`` (the worker processes, the workers' supervisor) opens a
        data dir the server made and never makes one: a process starting after the
        data dir was removed must not make a new database where the old one was (see
        the module docstring)."""
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self._create = create
        self._open_storage(LocalStorage(self.data_dir, create=create))
        # Kept for a thread that opens its first connection after the database
        # file is gone (the data dir removed under the server): it reads through
        # this one instead of creating an empty database where the old one was.
        self._spare = self._connect(shared=True)
        self._file = _identity(self.path)

    def _open_storage(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.media_dir, self.exports_dir = storage.media_dir, storage.exports_dir
        self.tmp_dir = storage.tmp_dir
        self._local = threading.local()
        #: Called with a job id once the transaction that queued it has committed.
        self.dispatch: Callable[[str], None] | None = None
        #: Held while an upload is stored and recorded, and while retention removes
        #: uploads (see housekeeping.retain): neither sees the other half done.
        self.media_lock = threading.Lock()
        self._spare = None
        self._spare_lock = threading.RLock()
        self.migrate()

    def queued(self, job_id: str) -> None:
        """A job was queued in the open transaction: dispatch it once that commits."""
        if self.dispatch is not None:
            self._local.__dict__.setdefault("queued", []).append(job_id)

    def _committed(self) -> None:
        queued = self._local.__dict__.pop("queued", [])
        for job_id in queued:
            self.dispatch(job_id)  # type: ignore[misc]

    def _rolled_back(self) -> None:
        self._local.__dict__.pop("queued", None)

    # -- connections and transactions -----------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._spare is not None and _identity(self.path) != self._file:
                # The file is gone, or another is there (the data dir removed under the
                # server and made again): read what the server has open, never that one.
                return self._spare
            try:
                conn = self._connect()
            except sqlite3.OperationalError:
                if self._spare is None or self.path.exists():
                    raise
                return self._spare  # the file is gone: read what the server has open
            self._local.conn = conn
        return conn

    def replaced(self) -> bool:
        """The database file this store opened is no longer the one at its path
        (removed, or removed and made again)."""
        return self._file is not None and _identity(self.path) != self._file

    def _connect(self, shared: bool = False) -> sqlite3.Connection:
        # Only the first open (the migration) may create the database file: a
        # file gone later is an error, never a new empty database.
        mode = "rwc" if self._create and self._spare is None and not shared else "rw"
        # isolation_level=None: we issue BEGIN ourselves, so transactions are explicit.
        conn = sqlite3.connect(
            f"{self.path.absolute().as_uri()}?mode={mode}",
            uri=True,
            timeout=30,
            isolation_level=None,
            check_same_thread=not shared,
        )
        conn.row_factory = sqlite3.Row
        # See the module docstring: no WAL (its -shm file is mmap'd), no mmap.
        conn.execute("PRAGMA mmap_size=0")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "persist":
            conn.execute("PRAGMA journal_mode=PERSIST")  # a data dir from a WAL version
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def _held(self, db: sqlite3.Connection) -> Iterator[None]:
        """The spare connection serves one transaction at a time."""
        if db is self._spare:
            with self._spare_lock:
                yield
        else:
            yield

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken at once (IMMEDIATE), committed or rolled back whole."""
        db = self.db
        with self._held(db):
            db.execute("BEGIN IMMEDIATE")
            try:
                if self.replaced():
                    # Written now, it would land in a removed file (lost) and go through
                    # the journal of whatever database is at the path now.
                    raise sqlite3.OperationalError("the database file was removed or replaced")
                yield db
                db.execute("COMMIT")
            except BaseException:
                _end(db)
                self._rolled_back()
                raise
        self._committed()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        db = self.db
        with self._held(db):
            db.execute("BEGIN")
            try:
                yield db
            finally:
                _end(db)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def migrate(self) -> int:
        """Bring the schema to the newest version; returns that version."""
        with self.tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {index + 1}")
            server_id = db.execute("SELECT value FROM meta WHERE key='server_id'").fetchone()
            if server_id is None:
                db.execute("INSERT INTO meta VALUES ('server_id', ?)", (uuid.uuid4().hex,))
        return len(MIGRATIONS)

    def located(self, stored: str) -> Path:
        """A stored file's path (rows keep it relative to the storage root; see storage.py)."""
        return self.storage.located(stored)

    @property
    def server_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='server_id'").fetchone()
        return str(row[0])

    # -- sessions and files ----------------------------------------------------
    def create_session(self, token: str, task_name: str, language: str) -> dict[str, str]:
        session_id, task_id = new_id("ses"), new_id("task")
        with self.tx() as db:
            db.execute(
                "INSERT INTO sessions (id, token, task_id, task_name, language, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, token, task_id, task_name, language, time.time()),
            )
        return {"task_id": task_id, "session_id": session_id}

    def session(self, session_id: str, token: str) -> sqlite3.Row | None:
        """The session if it belongs to ``token``; another token's answers None, like a missing one."""
        return self.db.execute(
            "SELECT * FROM sessions WHERE id=? AND token=?", (session_id, token)
        ).fetchone()

    def add_file(self, session_id: str, sha256: str, path: Path, info: dict[str, Any]) -> dict:
        """Record an upload in a session; the same content twice in one session is one file."""
        with self.tx() as db:
            row = db.execute(
                "SELECT video_id, info FROM files WHERE session_id=? AND sha256=?",
                (session_id, sha256),
            ).fetchone()
            if row is not None:
                video_id = row["video_id"]
                info = {**json.loads(row["info"]), "name": info.get("name")}

            else:
                video_id = new_id("vid")
                info = {"video_id": video_id, **info}
                db.execute(
                    "INSERT INTO files (video_id, session_id, sha256, path, info, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        video_id,
                        session_id,
                        sha256,
                        self.storage.relative(path),
                        dumps(info),
                        time.time(),
                    ),  # fmt: skip
                )
            # used_at: an upload, even of content the session has, is a use (retention).
            db.execute(
                "UPDATE sessions SET latest_video_id=?, used_at=? WHERE id=?",
                (video_id, time.time(), session_id),
            )
        return info

    def files(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            f"SELECT info FROM files WHERE session_id=? ORDER BY created_at, {self.insertion}",
            (session_id,),
        ).fetchall()
        return [json.loads(r["info"]) for r in rows]

    def file(self, session_id: str, video_id: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM files WHERE session_id=? AND video_id=?", (session_id, video_id)
        ).fetchone()

    # -- scripts ---------------------------------------------------------------
    def scripts(self, session_id: str) -> dict[str, dict[str, Any]]:
        rows = self.db.execute(
            "SELECT video_id, data FROM scripts WHERE session_id=? ORDER BY updated_at",
            (session_id,),
        ).fetchall()
        return {r["video_id"]: json.loads(r["data"]) for r in rows}

    def script(self, video_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM scripts WHERE video_id=?", (video_id,)).fetchone()
        return json.loads(row["data"]) if row else None

    def save_script(
        self,
        db: sqlite3.Connection,
        session_id: str,
        script: dict[str, Any],
        expected_revision: int | None = None,
    ) -> dict[str, Any] | None:
        """Store the next revision of a script inside transaction ``db``.

        With ``expected_revision`` the save only happens when the stored
        revision equals it; otherwise nothing is written and None comes back
        (the caller answers 409).  Returns the saved script.
        """
        video_id = script["video_id"]
        row = db.execute("SELECT revision FROM scripts WHERE video_id=?", (video_id,)).fetchone()
        current = int(row["revision"]) if row else 0
        if expected_revision is not None and expected_revision != current:
            return None
        saved = {**script, "revision": current + 1}
        now = time.time()
        db.execute(
            "INSERT INTO scripts (video_id, session_id, revision, data, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (video_id) DO UPDATE SET"
            " revision=excluded.revision, data=excluded.data, updated_at=excluded.updated_at",
            (video_id, session_id, current + 1, dumps(saved), now),
        )
        db.execute(
            "INSERT INTO script_revisions (video_id, revision, data, created_at)"
            " VALUES (?, ?, ?, ?)",
            (video_id, current + 1, dumps(saved), now),
        )
        db.execute("UPDATE sessions SET latest_video_id=? WHERE id=?", (video_id, session_id))
        return saved

    # -- invocations and their events -----------------------------------------
    def create_invocation(self, db: sqlite3.Connection, session_id: str, message: str) -> str:
        invocation_id = new_id("inv")
        db.execute(
            "INSERT INTO invocations (id, session_id, message, created_at) VALUES (?, ?, ?, ?)",
            (invocation_id, session_id, message, time.time()),
        )
        return invocation_id

    def add_event(
        self, db: sqlite3.Connection, invocation_id: str, kind: str, data: dict[str, Any]
    ) -> int:
        """Append one stream event; its ``seq`` is the SSE ``id:`` a client resumes from."""
        row = db.execute(
            "INSERT INTO events (invocation_id, kind, data, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING seq",
            (invocation_id, kind, dumps(data), time.time()),
        ).fetchone()
        return int(row[0])

    def event_invocation(self, seq: int, session_id: str) -> str | None:
        row = self.db.execute(
            "SELECT e.invocation_id FROM events e JOIN invocations i ON i.id = e.invocation_id"
            " WHERE e.seq=? AND i.session_id=?",
            (seq, session_id),
        ).fetchone()
        return str(row[0]) if row else None

    def poll_invocation(self, invocation_id: str, after: int) -> tuple[list[sqlite3.Row], bool]:
        """Events after ``after`` and whether the invocation has work still running (one snapshot)."""
        with self.snapshot() as db:
            events = db.execute(
                "SELECT seq, kind, data FROM events WHERE invocation_id=? AND seq>? ORDER BY seq",
                (invocation_id, after),
            ).fetchall()
            busy = db.execute(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE invocation_id=:i AND status IN"
                " ('queued','running')) + (SELECT COUNT(*) FROM exports WHERE invocation_id=:i"
                " AND status IN ('queued','rendering')) + (SELECT COUNT(*) FROM invocations"
                " WHERE id=:i AND pending IS NOT NULL)",
                {"i": invocation_id},
            ).fetchone()[0]
        return events, bool(busy)

    def set_pending(
        self, db: sqlite3.Connection, invocation_id: str, pending: dict[str, Any] | None
    ) -> None:
        """Requests of ``invocation_id`` that wait for its jobs (None: none wait)."""
        db.execute(
            "UPDATE invocations SET pending=? WHERE id=?",
            (None if pending is None else dumps(pending), invocation_id),
        )

    def pending_ready(self) -> list[str]:
        """Invocations with waiting requests and none of their jobs queued or running."""
        rows = self.db.execute(
            "SELECT id FROM invocations i WHERE pending IS NOT NULL AND NOT EXISTS (SELECT 1"
            " FROM jobs j WHERE j.invocation_id=i.id AND j.status IN ('queued','running'))"
            " ORDER BY created_at"
        ).fetchall()
        return [r["id"] for r in rows]

    # -- state -----------------------------------------------------------------
    def jobs(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, kind, video_id, status, stage, progress, eta_s, error, error_code,"
            " frozen, charged, created_at, finished_at FROM jobs WHERE session_id=?"
            f" ORDER BY created_at, {self.insertion}",
            (session_id,),
        ).fetchall()
        return [dict(r) for r in rows]

    def exports(self, session_id: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM exports WHERE session_id=? AND status='completed' ORDER BY created_at",
            (session_id,),
        ).fetchall()


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None where there is none."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino

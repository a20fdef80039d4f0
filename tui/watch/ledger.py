"""The watch ledger: which videos were scripted, keyed by content, in SQLite in the data dir.

Keyed by the SHA-256 of the file's bytes, so a restart, a ``touch`` or the
same video copied in under another name is recognised and not redone.  It
also remembers the SHA-256 of every output it wrote, so that an output the
user has edited since is never overwritten, and the hash of each path at a
given size and mtime, so that a restart does not re-read every big video.

One file, ``watch.db`` (WAL), next to the backend's ``reelscript.db``: the
headless watcher and the app's watch toggle may share it at the same time,
and a claim per video keeps them from scripting the same one twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    sha256     TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    reason     TEXT,
    code       INTEGER,
    source     TEXT NOT NULL,
    outputs    TEXT NOT NULL DEFAULT '[]',
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
    path          TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    source        TEXT NOT NULL,
    written_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    sha256 TEXT PRIMARY KEY,
    pid    INTEGER NOT NULL,
    since  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hashes (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256   TEXT NOT NULL
);
"""

_CHUNK = 1024 * 1024


def data_home(data_dir: Path | None = None) -> Path:
    """The data dir: ``data_dir`` if given, else ``$REELSCRIPT_HOME``, else the platform's."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("REELSCRIPT_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("reelscript", appauthor=False))


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (a 500 MB video is never held whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclass(frozen=True)
class Record:
    """What the ledger knows of one video content."""

    sha256: str
    status: str  # "done" or "failed"
    source: Path
    outputs: tuple[Path, ...]
    reason: str | None
    code: int | None
    updated_at: float


class Ledger:
    """The SQLite ledger. Every write is its own transaction; safe to share between processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit: every write below is one statement, so one transaction.  Hashing runs
        # in a worker thread, hence one connection shared under a lock.
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, data_dir: Path | None = None) -> Ledger:
        """The ledger of the data dir (see :func:`data_home`)."""
        return cls(data_home(data_dir) / "watch.db")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, sql: str, params: tuple[object, ...]) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()  # type: ignore[no-any-return]

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            self._db.execute(sql, params)

    # -- content hashes ---------------------------------------------------------------------

    def content_hash(self, path: Path) -> str:
        """SHA-256 of ``path``, from the cache when its size and mtime are unchanged."""
        stat = path.stat()
        key = str(path.resolve())
        row = self._one(
            "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
            (key, stat.st_size, stat.st_mtime_ns),
        )
        if row:
            return str(row[0])
        digest = sha256_file(path)
        self._write(
            "INSERT OR REPLACE INTO hashes (path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
            (key, stat.st_size, stat.st_mtime_ns, digest),
        )
        return digest

    def known_status(self, path: Path) -> str | None:
        """``"done"``/``"failed"`` for a file the ledger knows at its current size and mtime,
        else None; never reads the file (for status badges in a file list)."""
        try:
            stat = path.stat()
        except OSError:
            return None
        row = self._one(
            "SELECT m.status FROM hashes h JOIN media m ON m.sha256 = h.sha256"
            " WHERE h.path = ? AND h.size = ? AND h.mtime_ns = ?",
            (str(path.resolve()), stat.st_size, stat.st_mtime_ns),
        )
        return str(row[0]) if row else None

    # -- media records ----------------------------------------------------------------------

    def get(self, sha256: str) -> Record | None:
        row = self._one(
            "SELECT sha256, status, source, outputs, reason, code, updated_at"
            " FROM media WHERE sha256 = ?",
            (sha256,),
        )
        if row is None:
            return None
        return Record(
            sha256=row[0],
            status=row[1],
            source=Path(row[2]),
            outputs=tuple(Path(p) for p in json.loads(row[3])),
            reason=row[4],
            code=row[5],
            updated_at=row[6],
        )

    def mark_done(self, sha256: str, source: Path, outputs: list[Path]) -> None:
        self._put(sha256, "done", source, outputs, None, None)

    def mark_failed(self, sha256: str, source: Path, reason: str, code: int | None) -> None:
        self._put(sha256, "failed", source, [], reason, code)

    def _put(
        self,
        sha256: str,
        status: str,
        source: Path,
        outputs: list[Path],
        reason: str | None,
        code: int | None,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO media"
            " (sha256, status, reason, code, source, outputs, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sha256,
                status,
                reason,
                code,
                str(source),
                json.dumps([str(p) for p in outputs]),
                time.time(),
            ),
        )

    # -- claims: one watcher at a time per video ----------------------------------------------

    def claim(self, sha256: str) -> int | None:
        """Claim a video for this process; None when claimed, else the pid that has it.

        The app's watch toggle and a ``reelscript watch`` service may watch the same
        folder; a claim whose process is gone (killed) counts for nothing.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT pid FROM claims WHERE sha256 = ?", (sha256,)
                ).fetchone()
                if row and row[0] != os.getpid() and _alive(row[0]):
                    return int(row[0])
                self._db.execute(
                    "INSERT OR REPLACE INTO claims (sha256, pid, since) VALUES (?, ?, ?)",
                    (sha256, os.getpid(), time.time()),
                )
                return None
            finally:
                self._db.execute("COMMIT")

    def release(self, sha256: str) -> None:
        self._write("DELETE FROM claims WHERE sha256 = ? AND pid = ?", (sha256, os.getpid()))

    # -- outputs we wrote -------------------------------------------------------------------

    def output_record(self, path: Path) -> tuple[str, Path] | None:
        """``(sha256, source video)`` of what we last wrote at ``path``, or None if never."""
        row = self._one("SELECT sha256, source FROM outputs WHERE path = ?", (str(path.resolve()),))
        return (str(row[0]), Path(row[1])) if row else None

    def record_output(self, path: Path, sha256: str, source_sha256: str, source: Path) -> None:
        self._write(
            "INSERT OR REPLACE INTO outputs (path, sha256, source_sha256, source, written_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (str(path.resolve()), sha256, source_sha256, str(source), time.time()),
        )

    def is_our_output(self, path: Path, sha256: str) -> bool:
        """True when ``path`` holds exactly what we wrote there (an exported mp4, say)."""
        record = self.output_record(path)
        return record is not None and record[0] == sha256

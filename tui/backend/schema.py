"""The SQLite schema of the backend's store (:mod:`tui.backend.store`), as migrations.

``PRAGMA user_version`` holds how many of :data:`MIGRATIONS` a database has had;
:meth:`tui.backend.store.Store.migrate` runs the rest in one transaction.
"""

from __future__ import annotations

# Each entry migrates the schema from version i to i+1; never edit a shipped
# entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, created_at REAL NOT NULL,
        expires_at REAL NOT NULL, unlimited INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0, frozen INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX tokens_client ON tokens (client_id, created_at);
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL, job_id TEXT,
        kind TEXT NOT NULL, amount INTEGER NOT NULL, created_at REAL NOT NULL);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY, token TEXT NOT NULL, task_id TEXT NOT NULL,
        task_name TEXT NOT NULL, language TEXT NOT NULL, created_at REAL NOT NULL,
        latest_video_id TEXT);
    CREATE TABLE files (
        video_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, sha256 TEXT NOT NULL,
        path TEXT NOT NULL, info TEXT NOT NULL, created_at REAL NOT NULL);
    CREATE INDEX files_session ON files (session_id, created_at);
    CREATE TABLE scripts (
        video_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, revision INTEGER NOT NULL,
        data TEXT NOT NULL, updated_at REAL NOT NULL);
    CREATE TABLE script_revisions (
        video_id TEXT NOT NULL, revision INTEGER NOT NULL, data TEXT NOT NULL,
        created_at REAL NOT NULL, PRIMARY KEY (video_id, revision));
    CREATE TABLE invocations (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL, message TEXT NOT NULL,
        created_at REAL NOT NULL);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, invocation_id TEXT NOT NULL,
        kind TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL);
    CREATE INDEX events_invocation ON events (invocation_id, seq);
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL, token TEXT NOT NULL,
        invocation_id TEXT, call_id TEXT, kind TEXT NOT NULL, video_id TEXT,
        status TEXT NOT NULL, stage TEXT, progress REAL NOT NULL DEFAULT 0, eta_s REAL,
        error TEXT, error_code INTEGER, options TEXT NOT NULL DEFAULT '{}',
        frozen INTEGER NOT NULL DEFAULT 0, charged INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0, claim TEXT, worker_pid INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL, started_at REAL, finished_at REAL);
    CREATE INDEX jobs_status ON jobs (status, created_at);
    CREATE INDEX jobs_session ON jobs (session_id, created_at);
    CREATE TABLE exports (
        id TEXT NOT NULL, token TEXT NOT NULL, session_id TEXT NOT NULL,
        video_id TEXT NOT NULL, format TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',
        invocation_id TEXT, call_id TEXT, status TEXT NOT NULL,
        progress REAL NOT NULL DEFAULT 0, path TEXT, size INTEGER, error TEXT,
        created_at REAL NOT NULL, finished_at REAL, PRIMARY KEY (token, id));
    CREATE INDEX exports_session ON exports (session_id, created_at);
    """,
    # 2: requests of a message that wait for its job (see actions.perform)
    """
    ALTER TABLE invocations ADD COLUMN pending TEXT;
    CREATE INDEX invocations_pending ON invocations (created_at) WHERE pending IS NOT NULL;
    """,
    # 3: when a session last received an upload (housekeeping.retain)
    """
    ALTER TABLE sessions ADD COLUMN used_at REAL;
    """,
    # 4: who asked for a token (per-address limit), the client's secret (a hash) that
    # proves its client id, and the account a replacement token acts for (credits.py)
    """
    ALTER TABLE tokens ADD COLUMN source TEXT;
    ALTER TABLE tokens ADD COLUMN secret TEXT;
    ALTER TABLE tokens ADD COLUMN account TEXT;
    CREATE INDEX tokens_source ON tokens (source, created_at);
    """,
    # 5: remembered voices per client identity, and each file's speaker prints
    # (tui/backend/voices_store.py; embeddings only, never audio)
    """
    CREATE TABLE voices (
        owner TEXT NOT NULL, name TEXT NOT NULL, encoder TEXT NOT NULL,
        centroids TEXT NOT NULL, files INTEGER NOT NULL DEFAULT 0, last_heard REAL,
        created_at REAL NOT NULL, PRIMARY KEY (owner, name));
    CREATE TABLE voiceprints (
        video_id TEXT NOT NULL, speaker TEXT NOT NULL, encoder TEXT NOT NULL,
        vector TEXT NOT NULL, seconds REAL NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY (video_id, speaker));
    """,
]

"""What an action of ``/run_sse`` works with: the session, its files and scripts, its answer.

One :class:`Context` per understood message, inside the transaction that
stores the action's events (see :mod:`tui.backend.actions`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Any

from tui.backend import events
from tui.backend.config import Backend
from tui.backend.store import Store
from tui.engine.script import Script


@dataclasses.dataclass
class Context:
    """One action's session, transaction and answer (function_response + text)."""

    backend: Backend
    store: Store
    db: sqlite3.Connection
    session: sqlite3.Row
    token: str
    invocation: str
    call_id: str
    action: str
    after: list[Any]
    #: The request's choice for a file whose script has the user's edits: ``keep``,
    #: ``replace``, or None (not said: such a file is not scripted again; see
    #: :func:`edited_revision`).
    if_edited: str | None = None
    #: Set by an action that needs the user's choice: the rest of the message waits.
    halted: bool = False

    def answer(self, result: dict[str, Any], message: str) -> None:
        events.add(
            self.store,
            self.db,
            self.invocation,
            [events.response(self.call_id, self.action, result), events.text(message)],
        )

    def files(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            f"SELECT info FROM files WHERE session_id=? ORDER BY created_at, {self.store.insertion}",
            (self.session["id"],),
        ).fetchall()
        return [json.loads(r["info"]) for r in rows]

    def script(self) -> Script | None:
        """The session's latest script (what edits apply to)."""
        row = self.db.execute(
            "SELECT s.data FROM scripts s WHERE s.session_id=? ORDER BY"
            " (s.video_id = (SELECT latest_video_id FROM sessions WHERE id=?)) DESC,"
            " s.updated_at DESC LIMIT 1",
            (self.session["id"], self.session["id"]),
        ).fetchone()
        return Script.from_dict(json.loads(row["data"])) if row else None

    def script_of(self, video_id: str) -> Script | None:
        """The stored script of one file of this session, if it has one."""
        row = self.db.execute(
            "SELECT data FROM scripts WHERE session_id=? AND video_id=?",
            (self.session["id"], video_id),
        ).fetchone()
        return Script.from_dict(json.loads(row["data"])) if row else None

    def edited_revision(self, video_id: str) -> int | None:
        """The revision of ``video_id``'s script when it holds edits made after the
        job that scripted it (by PUT, a rename, a merge ...), else None."""
        row = self.db.execute(
            "SELECT revision, updated_at FROM scripts WHERE session_id=? AND video_id=?",
            (self.session["id"], video_id),
        ).fetchone()
        if row is None:
            return None
        made = self.db.execute(
            "SELECT MAX(finished_at) FROM jobs WHERE video_id=? AND status='completed'"
            " AND kind IN ('script', 'translate')",
            (video_id,),
        ).fetchone()[0]
        # A job stores its script just before it finishes (one transaction): a script
        # written after that is someone's edit.
        return None if made is not None and row["updated_at"] <= made else int(row["revision"])

    def save(self, script: Script) -> dict[str, Any]:
        saved = self.store.save_script(self.db, self.session["id"], script.to_dict())
        assert saved is not None
        return saved

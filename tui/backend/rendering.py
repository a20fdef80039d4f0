"""The captioned export's render under way: its progress and time left, its cancel.

A captioned export re-encodes the video, which takes a while: its progress
goes into the export's row as it renders, its time left and its cancel event
are kept here (in this process: an export left by a killed server is failed
at the next start).  See :mod:`tui.backend.exports`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from tui.backend.config import Backend
from tui.backend.errors import NotFound

#: Renders under way in this process: render id -> (cancel event, [seconds left or None]).
_UNDER_WAY: dict[str, tuple[threading.Event, list[float | None]]] = {}


def hooks(backend: Backend, token: str, render_id: str, chosen: dict[str, Any]) -> dict[str, Any]:
    """Resolution and fit, and the hooks that put progress in the status and allow a cancel."""
    stop = threading.Event()
    eta: list[float | None] = [None]
    _UNDER_WAY[render_id] = (stop, eta)

    def progress(fraction: float, eta_s: float | None) -> None:
        eta[0] = eta_s
        with backend.store.tx() as db:
            db.execute(
                "UPDATE exports SET progress=? WHERE token=? AND id=? AND status='rendering'",
                (round(0.1 + 0.89 * fraction, 3), token, render_id),
            )

    return {
        "resolution": chosen.get("resolution", "1080p"),
        "fit": chosen.get("fit", "blur"),
        "progress": progress,
        "cancel": stop,
    }


def cancel(backend: Backend, token: str, render_id: str) -> None:
    """Stop an export that is queued or rendering (it fails as cancelled; nothing is kept)."""
    row = backend.store.db.execute(
        "SELECT status FROM exports WHERE token=? AND id=?", (token, render_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"export {render_id} not found")
    if row["status"] not in ("queued", "rendering"):
        return
    if render_id in _UNDER_WAY:
        _UNDER_WAY[render_id][0].set()
    with backend.store.tx() as db:  # a queued one never starts; a rendering one stops soon
        db.execute(
            "UPDATE exports SET status='failed', progress=0, error='cancelled', finished_at=?"
            " WHERE token=? AND id=? AND status IN ('queued', 'rendering')",
            (time.time(), token, render_id),
        )


def cancel_all() -> None:
    """Stop every render under way (the server is stopping): their temp files go."""
    for event, _ in list(_UNDER_WAY.values()):
        event.set()


def done(render_id: str) -> None:
    _UNDER_WAY.pop(render_id, None)


def eta_s(render_id: str) -> float | None:
    under_way = _UNDER_WAY.get(render_id)
    return under_way[1][0] if under_way else None


def note(backend: Backend, row: sqlite3.Row) -> str | None:
    """A captioned export of a file with no picture says that its captions are on a plain one."""
    if row["format"] != "captioned":
        return None
    file = backend.store.db.execute(
        "SELECT info FROM files WHERE video_id=?", (row["video_id"],)
    ).fetchone()
    info = json.loads(file["info"]) if file is not None else {}
    if info.get("width"):
        return None
    return (
        f"{info.get('name') or 'the file'} has no picture: the captions are on a plain background"
    )

"""Start-up housekeeping of the data dir: remove what a killed server left half-done.

Runs once when the server starts, while it holds the data dir's lock and
before its workers start or any request is served, so nothing it removes can
be in use.  It removes only what no database row refers to:

- ``tmp/*``: uploads that were still arriving (an upload is only ever
  referenced after it left ``tmp/``);
- ``exports/<id>/*`` that is not the file of a completed export: temp files
  of exports that were rendering (those exports were just failed), and empty
  export folders;
- ``media/<xx>/<sha256>.<ext>`` whose hash no file row has: the server died
  between storing an upload and recording it.

Nothing referenced is touched, and nothing here is reachable from the API
(there is no delete endpoint); docs/serve.md ("The data dir") says what a user may
remove by hand to reclaim space.

:func:`retain` (``reelscript serve --keep-days N``, off by default) is the
other kind: at start and every hour, the big files of sessions idle for more
than N days go -- their exports (file and row) and their uploads (unless a
session still in use holds the same content).  Scripts, their revisions,
tokens and credits stay: such a session still shows and exports its script to
every text format; scripting its file again or exporting mp4 says the file is
gone.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tui.backend.store import Store
from tui.engine.writing import plural

log = logging.getLogger("reelscript.housekeeping")
_STORED = re.compile(r"^[0-9a-f]{64}\.[A-Za-z0-9]+$")


@dataclass
class Swept:
    """What one sweep removed: files and their bytes."""

    files: int = 0
    bytes: int = 0

    def remove(self, path: Path) -> None:
        try:
            size = path.stat().st_size
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:  # a file we cannot remove is left; never a reason not to start
            log.warning("could not remove %s: %s", path, exc)
            return
        self.files += 1
        self.bytes += size


def sweep(store: Store) -> Swept:
    """Remove the orphans listed in the module docstring; returns what was removed."""
    swept = Swept()
    for path in _children(store.tmp_dir):
        swept.remove(path)
    kept = {
        (Path(p).parent.name, Path(p).name)
        for (p,) in store.db.execute(
            "SELECT path FROM exports WHERE status='completed' AND path IS NOT NULL"
        )
    }
    for folder in _children(store.exports_dir):
        if not folder.is_dir():
            continue
        for path in _children(folder):
            if (folder.name, path.name) not in kept:
                swept.remove(path)
        if not _children(folder):
            swept.remove(folder)  # an export folder left empty
    hashes = {sha for (sha,) in store.db.execute("SELECT DISTINCT sha256 FROM files")}
    for folder in _children(store.media_dir):
        for path in _children(folder):
            if _STORED.match(path.name) and path.name.split(".")[0] not in hashes:
                swept.remove(path)
    if swept.files:
        log.warning(
            "removed %s (%.1f MB) left by an interrupted server",
            plural(swept.files, "file"),
            swept.bytes / 1e6,
        )
    return swept


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


#: A session's last use: the latest of its own and its rows' times.
_IDLE_SESSIONS = """
SELECT s.id FROM sessions s WHERE MAX(s.created_at, COALESCE(s.used_at, 0),
    COALESCE((SELECT MAX(created_at) FROM files WHERE session_id = s.id), 0),
    COALESCE((SELECT MAX(updated_at) FROM scripts WHERE session_id = s.id), 0),
    COALESCE((SELECT MAX(COALESCE(finished_at, created_at)) FROM jobs WHERE session_id = s.id), 0),
    COALESCE((SELECT MAX(COALESCE(finished_at, created_at)) FROM exports
              WHERE session_id = s.id), 0),
    COALESCE((SELECT MAX(created_at) FROM invocations WHERE session_id = s.id), 0)) < ?
  AND NOT EXISTS (SELECT 1 FROM jobs WHERE session_id = s.id AND status IN ('queued', 'running'))
  AND NOT EXISTS (SELECT 1 FROM exports WHERE session_id = s.id
                  AND status IN ('queued', 'rendering'))
"""


def retain(store: Store, keep_days: float, now: float | None = None) -> Swept:
    """Remove the exports and uploads of sessions idle for more than ``keep_days`` days.

    An upload goes only when no session that is still in use has the same
    content.  Each removal is decided and done under the store's media lock,
    which an arriving upload also takes, so an upload of the same content
    meanwhile keeps its file.
    """
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    swept = Swept()
    with store.media_lock:
        with store.tx() as db:
            idle = [r[0] for r in db.execute(_IDLE_SESSIONS, (cutoff,))]
            marks = ",".join("?" * len(idle))
            exports = db.execute(
                f"SELECT path FROM exports WHERE session_id IN ({marks}) AND path IS NOT NULL",
                idle,
            ).fetchall()
            db.execute(f"DELETE FROM exports WHERE session_id IN ({marks})", idle)
            # The speakers' voice prints of those files go with them (remembered voices stay).
            db.execute(
                "DELETE FROM voiceprints WHERE video_id IN (SELECT video_id FROM files"
                f" WHERE session_id IN ({marks}))",
                idle,
            )
            uploads = db.execute(
                f"SELECT DISTINCT path FROM files f WHERE session_id IN ({marks}) AND NOT EXISTS"
                f" (SELECT 1 FROM files g WHERE g.sha256 = f.sha256 AND g.session_id NOT IN"
                f" ({marks}))",
                idle + idle,
            ).fetchall()
        # The rows are gone first: a crash here leaves files that the start-up sweep
        # removes, never a row that names a missing export.
        for (path,) in exports:
            export = store.located(path)
            if export.exists():
                swept.remove(export)
            if export.parent.is_dir() and not _children(export.parent):
                swept.remove(export.parent)
        for (path,) in uploads:
            upload = store.located(path)
            if upload.exists():
                swept.remove(upload)
    if swept.files:
        log.warning(
            "removed %s (%.1f MB) of sessions idle for over %g day%s",
            plural(swept.files, "file"),
            swept.bytes / 1e6,
            keep_days,
            "" if keep_days == 1 else "s",
        )
    return swept

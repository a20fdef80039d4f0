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
(there is no delete endpoint); README "The data dir" says what a user may
remove by hand to reclaim space.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tui.backend.store import Store

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
            "removed %d file(s) (%.1f MB) left by an interrupted server",
            swept.files,
            swept.bytes / 1e6,
        )
    return swept


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []

"""Where uploads, exports and temp files live: one root shared by every process.

On a laptop the root is the data dir; in a team it is a mount every API and
worker process shares (NFS, a cloud volume, a compose volume).  Rows keep
paths *relative* to the root, so the same row means the same file on every
machine, and temp files are written under the same root so the rename that
publishes them stays atomic.  Rows written by earlier versions hold absolute
paths; :meth:`LocalStorage.located` still finds those (also in a data dir
that was moved since).  An S3-compatible store would implement the same four
names (``relative``, ``located`` and the three folders).
"""

from __future__ import annotations

from pathlib import Path


class LocalStorage:
    """A storage root on a file system: ``media/``, ``exports/`` and ``tmp/`` under it."""

    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = Path(root).resolve()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise FileNotFoundError(f"the data dir {self.root} is gone")
        self.media_dir = self.root / "media"
        self.exports_dir = self.root / "exports"
        self.tmp_dir = self.root / "tmp"
        if create:  # a process that only opens a root (a worker) makes nothing in it
            for folder in (self.media_dir, self.exports_dir, self.tmp_dir):
                folder.mkdir(exist_ok=True)

    def relative(self, path: Path) -> str:
        """What a row keeps for ``path``: relative to the root when it is under it."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def located(self, stored: str) -> Path:
        """The file a row names: relative rows under the root; an absolute row as it
        is, or found again at the same place within the root if the dir was moved
        (``media/<xx>/<sha>.<ext>``, ``exports/<folder>/<name>``)."""
        path = Path(stored)
        if not path.is_absolute():
            return self.root / path
        if path.exists():
            return path
        for folder in (self.media_dir, self.exports_dir):
            moved = folder / path.parent.name / path.name
            if moved.exists():
                return moved
        return path

"""A JSON store of the app's memory between runs: the last session per backend, and its files.

Kept in ``<data dir>/app-sessions.json`` (next to the token file), one entry
per backend and token file::

    {"<server id> <token file>": {"session_id": "ses_…",
                                  "files": {"/videos/talk.mp4": {"video_id": "vid_…",
                                                                 "size": 123, "mtime_ns": 456}}}}

A file is remembered with its size and modification time, so a file changed
since is not taken for the one scripted before.  Writes go through a temp
file and a rename: a crash never leaves half a file, and a damaged file is
read as empty (the app then starts a new session, as on 1002).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui.datadir import write_json

FILE_NAME = "app-sessions.json"


def _stamp(path: Path) -> dict[str, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


class SessionStore:
    """One entry of ``app-sessions.json``: a backend's last session and its files."""

    def __init__(self, data_dir: Path, key: str) -> None:
        self.path = data_dir / FILE_NAME
        self.key = key
        entry = self._load().get(key) or {}
        self.session_id = str(entry.get("session_id") or "")
        self._files: dict[str, dict[str, Any]] = dict(entry.get("files") or {})

    def _load(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return raw if isinstance(raw, dict) else {}

    def files(self) -> dict[Path, str]:
        """The remembered files that are still the same on disk, with their video ids."""
        found: dict[Path, str] = {}
        for name, entry in self._files.items():
            path = Path(name)
            stamp = _stamp(path)
            if stamp is not None and all(entry.get(k) == v for k, v in stamp.items()):
                found[path] = str(entry.get("video_id") or "")
        return found

    def new_session(self, session_id: str) -> None:
        """A new session: the old one's files are not in it."""
        self.session_id = session_id
        self._files = {}
        self.save()

    def add_file(self, path: Path, video_id: str) -> None:
        stamp = _stamp(path)
        if stamp is not None and video_id:
            self._files[str(path.resolve())] = {"video_id": video_id, **stamp}
            self.save()

    def save(self) -> None:
        """Write this entry (others' entries are kept as they are on disk)."""
        everything = self._load()
        everything[self.key] = {"session_id": self.session_id, "files": self._files}
        write_json(self.path, everything, indent=1)

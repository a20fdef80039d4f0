"""Where reelscript keeps its data: ``REELSCRIPT_HOME``, else the platform's data dir.

Shared by the backend (database, media store, server lock) and the client
(token file), so both agree on one folder without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "reelscript"


def default_data_dir() -> Path:
    """The data folder: ``$REELSCRIPT_HOME`` when set, else the user data dir."""
    home = os.environ.get("REELSCRIPT_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """``data_dir`` if given, else :func:`default_data_dir`; created if missing."""
    path = Path(data_dir).expanduser() if data_dir else default_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path

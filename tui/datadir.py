"""Where reelscript keeps its data: ``REELSCRIPT_HOME``, else the platform's data dir.

Shared by the backend (database, media store, server lock) and the client
(token file), so both agree on one folder without importing each other.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "reelscript"

# Read once: os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
#: The mode a plain ``open(path, "w")`` gives under the user's umask: every output the
#: user asked for (exports, watch outputs) gets it, though mkstemp makes 0600 files.
OUTPUT_MODE = 0o666 & ~_UMASK


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


def write_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    """Write a small state file of the data dir atomically, readable by its owner only.

    The JSON goes to a temp file beside ``path`` and is renamed onto it, so a
    reader (or a crash) never sees half a file; the temp file is removed if
    anything fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=indent)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Who uses a data dir's embedded backend: one small file per attached app or watcher.

An app or ``reelscript watch`` that starts or reuses the embedded backend
:func:`attach`\\ es to it (``<data>/attached/<pid>-<random>``) and removes its
file when it ends (:func:`detach`).  The backend, started with
``--exit-when-unused``, stops itself once no attached process is alive and
no job or export is under way, so a closed terminal (SIGHUP), a SIGTERM or
even a SIGKILL of the last app never leaves it running, and a job is never
cut off by a quit.  Shared by :mod:`tui.client.local_server` and the backend; no
dependencies.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FOLDER = "attached"


def attach(data_dir: Path, who: str = "app") -> Path:
    """Record that this process uses ``data_dir``'s backend; returns the record to detach."""
    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{os.getpid()}-{secrets.token_hex(4)}"
    record.write_text(f"{who}\n")
    return record


def detach(record: Path | None) -> None:
    """Remove one :func:`attach` record (already gone: nothing to do)."""
    if record is not None:
        record.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def attached(data_dir: Path, *, besides: Path | None = None) -> list[Path]:
    """The records of live processes (those of dead ones are removed), ``besides`` left out."""
    folder = data_dir / FOLDER
    try:
        records = list(folder.iterdir())
    except OSError:
        return []
    live = []
    for record in records:
        pid = record.name.split("-", 1)[0]
        if not pid.isdigit():
            continue
        if not _alive(int(pid)):
            record.unlink(missing_ok=True)  # a process that died without detaching
        elif record != besides:
            live.append(record)
    return live

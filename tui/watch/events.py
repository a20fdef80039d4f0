"""What a :class:`~tui.watch.watcher.FolderWatcher` reports, one small frozen dataclass per kind.

Every event names the media file it is about (``path``, absolute).  A file's
life is ``FileWaiting``\\* -> ``FileQueued`` -> ``FileWorking``\\* -> ``FileDone``
or ``FileFailed``; a file the ledger already knows (or that is one of our own
outputs) gives one ``FileSkipped`` instead.  :class:`WatchStats` is the running
tally the summary line shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileWaiting:
    """Seen, but not yet submitted: still growing, or not yet decodable."""

    path: Path
    reason: str


@dataclass(frozen=True)
class FileQueued:
    """Stable and new: waiting its turn. ``position`` is 1 for the next one to run."""

    path: Path
    position: int


@dataclass(frozen=True)
class FileWorking:
    """Being processed. ``stage`` is ``uploading``, one of docs/api.md's job stages
    (``probing`` ... ``writing``), or ``exporting``; ``progress`` is 0..1 within it."""

    path: Path
    stage: str
    progress: float
    eta_s: float | None = None


@dataclass(frozen=True)
class FileDone:
    """Scripted; ``outputs`` are the files written. ``notes`` say anything the user
    should know, e.g. that ``talk.2.md`` was written because ``talk.md`` was edited."""

    path: Path
    outputs: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    #: Where its script is on the backend (the API session and file it was made in).
    session_id: str = ""
    video_id: str = ""


@dataclass(frozen=True)
class FileFailed:
    """Could not be scripted; ``reason`` is one line for the user, ``code`` the API
    code when the backend gave one (4001 undecodable, 4002 too large, ...).
    ``retry_in`` is set (seconds) when the fault was not the file's (backend
    unreachable, out of credits): the watcher tries it again by itself."""

    path: Path
    reason: str
    code: int | None = None
    retry_in: float | None = None


@dataclass(frozen=True)
class FileSkipped:
    """Not processed, on purpose. ``status`` is what the ledger knows of its content:
    ``done``, ``failed`` (failed before), ``queued`` (a copy is in the queue), or
    ``""`` (the file was removed)."""

    path: Path
    reason: str
    status: str = "done"


WatchEvent = FileWaiting | FileQueued | FileWorking | FileDone | FileFailed | FileSkipped


@dataclass
class WatchStats:
    """Running totals since the watcher started."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    queued: int = 0
    working: Path | None = None
    waiting: set[Path] = field(default_factory=set)
    retrying: set[Path] = field(default_factory=set)

    def count(self, event: WatchEvent) -> None:
        """Update the totals for one event (the watcher calls this before reporting it)."""
        if isinstance(event, FileWaiting):
            self.waiting.add(event.path)
        elif isinstance(event, FileQueued):
            self.waiting.discard(event.path)
            self.retrying.discard(event.path)
        elif isinstance(event, FileWorking):
            self.working = event.path
        elif isinstance(event, FileDone | FileFailed):
            if isinstance(event, FileDone):
                self.done += 1
            elif event.retry_in is None:
                self.failed += 1
            else:
                self.retrying.add(event.path)
            if self.working == event.path:
                self.working = None
        elif isinstance(event, FileSkipped):
            self.skipped += 1
            self.waiting.discard(event.path)

    def summary(self) -> str:
        """The one summary line, e.g. ``3 done, 1 failed, 2 queued``."""
        parts = [f"{self.done} done", f"{self.failed} failed", f"{self.queued} queued"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.waiting:
            parts.append(f"{len(self.waiting)} still arriving")
        if self.retrying:
            parts.append(f"{len(self.retrying)} to retry")
        return ", ".join(parts)

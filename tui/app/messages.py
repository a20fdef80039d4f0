"""App-wide messages: what the workers tell the app about the backend.

Workers post these to the app; handlers in :mod:`tui.app.app` pass them to the
panes.  The stream's floods (progress, heartbeats) can be replaced by a newer
one of the same kind still waiting in the queue, so a burst is drawn once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.message import Message

from tui.client.types import SessionState


@dataclass
class LogLine(Message):
    """One line for the Log pane (``kind`` picks its colour, see ``sse_log.KINDS``)."""

    kind: str
    text: str
    at: datetime = field(default_factory=datetime.now)


@dataclass
class JobProgress(Message):
    """A progress event of a job: stage, fraction done, seconds left."""

    job_id: str
    stage: str
    progress: float
    eta_s: float | None
    at: datetime = field(default_factory=datetime.now)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobProgress) and message.job_id == self.job_id


@dataclass
class ExportReady(Message):
    """An export asked for in words has finished on the backend: ``url`` downloads it."""

    format: str
    url: str


@dataclass
class SpeakerRenamed(Message):
    """A speaker was renamed in words ("rename Speaker 2 to Sheila"): the app may remember the voice."""

    video_id: str
    speaker: str
    name: str


@dataclass
class Heartbeat(Message):
    """The stream is alive and the job still running."""

    at: datetime = field(default_factory=datetime.now)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Heartbeat)


@dataclass
class StreamStarted(Message):
    """A ``/run_sse`` stream is about to open (several may be open at once)."""


@dataclass
class StreamEnded(Message):
    """A ``/run_sse`` stream finished (or broke off); ``job_ids``: the jobs it reported."""

    job_ids: tuple[str, ...] = ()


@dataclass
class StateLoaded(Message):
    """The session's state (docs/api.md's ``state`` object) was read."""

    state: SessionState


@dataclass
class FileStatus(Message):
    """A file's badge in the Files pane changes (new/queued/working/done/failed)."""

    path: Path
    status: str


@dataclass
class ChoiceNeeded(Message):
    """The backend will not script files again whose scripts hold the user's edits
    until it is told to keep or replace them; ``edited``: ``{video_id, name, revision}``."""

    edited: list[dict[str, Any]]

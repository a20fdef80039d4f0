"""What the API client returns: sessions, stream events and the session state, typed.

The shapes are docs/api.md's; each type reads its wire dict once
(``from_dict``) so that the app and the watcher use attributes, not chains
of ``.get(...) or []``.  Scripts stay the API's dicts (the app reads them
with :class:`tui.engine.script.Script`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

#: Job statuses that mean "not finished yet".
BUSY_STATUSES = ("queued", "running")


@dataclass
class Session:
    task_id: str
    session_id: str


@dataclass
class Event:
    """One event of a ``/run_sse`` stream: ``kind`` is message, progress or heartbeat."""

    kind: str
    data: dict[str, Any]
    id: str | None = None

    @property
    def parts(self) -> list[dict[str, Any]]:
        return list(((self.data.get("content") or {}).get("parts")) or [])

    @property
    def text(self) -> str:
        return "".join(p["text"] for p in self.parts if "text" in p)

    @property
    def function_calls(self) -> list[dict[str, Any]]:
        return [p["function_call"] for p in self.parts if "function_call" in p]

    @property
    def function_responses(self) -> list[dict[str, Any]]:
        return [p["function_response"] for p in self.parts if "function_response" in p]

    @property
    def partial(self) -> bool:
        return bool(self.data.get("partial"))

    # -- a progress event's fields -------------------------------------------------------
    @property
    def job_id(self) -> str:
        return str(self.data.get("job_id") or "")

    @property
    def stage(self) -> str:
        return str(self.data.get("stage") or "")

    @property
    def progress(self) -> float:
        return float(self.data.get("progress") or 0.0)

    @property
    def eta_s(self) -> float | None:
        eta = self.data.get("eta_s")
        return float(eta) if eta is not None else None

    @property
    def message(self) -> Any:
        """An ``error`` event's message (data that is not an object: itself)."""
        return self.data.get("message") if isinstance(self.data, dict) else self.data


@dataclass(frozen=True)
class Job:
    """A job of the session state: ``{id, kind, video_id, status, stage, progress, error}``."""

    id: str
    kind: str = "extract"
    video_id: str = ""
    status: str = "queued"
    stage: str = ""
    progress: float = 0.0
    error: str = ""
    error_code: int | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Job:
        return cls(
            id=str(raw.get("id") or ""),
            kind=str(raw.get("kind") or "extract"),
            video_id=str(raw.get("video_id") or ""),
            status=str(raw.get("status") or ""),
            stage=str(raw.get("stage") or ""),
            progress=float(raw.get("progress") or 0.0),
            error=str(raw.get("error") or ""),
            error_code=raw.get("error_code"),
        )

    @property
    def busy(self) -> bool:
        """Queued or running: not finished yet."""
        return self.status in BUSY_STATUSES


@dataclass(frozen=True)
class VideoInfo:
    """An uploaded file, as upload returns it and ``video_infos`` lists it."""

    video_id: str
    name: str
    duration_ms: int = 0
    has_audio: bool | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VideoInfo:
        has_audio = raw.get("has_audio")
        return cls(
            video_id=str(raw.get("video_id") or ""),
            name=str(raw.get("name") or ""),
            duration_ms=int(raw.get("duration_ms") or 0),
            has_audio=None if has_audio is None else bool(has_audio),
        )


class TrackType(IntEnum):
    """A draft track's ``tt``: the files/scenes, the speech regions, the script turns."""

    VIDEO = 0
    AUDIO = 1
    TEXT = 7


class Segment(NamedTuple):
    """A stretch of a track (``{s, d, m}`` on the wire): where it starts and ends, and its
    ``meta`` (a file's ``name`` and ``video_id``, a turn's ``speaker`` and ``text``)."""

    start_ms: int
    end_ms: int
    meta: dict[str, Any]


@dataclass
class Track:
    type: int  # a TrackType (an unknown one is kept as its number)
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Draft:
    """The session's timeline (docs/api.md's ``draft``: ``{d, t: [{tt, sg: [...]}]}``)."""

    duration_ms: int = 0
    tracks: list[Track] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Draft:
        raw = raw or {}
        tracks = []
        for track in raw.get("t") or []:
            segments = []
            for seg in track.get("sg") or []:
                start = int(seg.get("s", 0))
                segments.append(Segment(start, start + int(seg.get("d", 0)), seg.get("m") or {}))
            tracks.append(Track(int(track.get("tt", -1)), segments))
        return cls(int(raw.get("d", 0) or 0), tracks)

    def segments(self, kind: TrackType) -> list[Segment]:
        """Every segment of every track of ``kind``."""
        return [seg for track in self.tracks if track.type == kind for seg in track.segments]


@dataclass
class SessionState:
    """``GET /api/state/...``: the session's draft, files, exports, scripts and jobs."""

    draft: Draft = field(default_factory=Draft)
    video_infos: list[VideoInfo] = field(default_factory=list)
    generated_media: list[dict[str, Any]] = field(default_factory=list)
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: dict[str, Any] | None = None
    jobs: list[Job] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> SessionState:
        raw = raw or {}
        return cls(
            draft=Draft.from_dict(raw.get("draft")),
            video_infos=[VideoInfo.from_dict(v) for v in raw.get("video_infos") or []],
            generated_media=list(raw.get("generated_media") or []),
            scripts=dict(raw.get("scripts") or {}),
            script=raw.get("script") or None,
            jobs=[Job.from_dict(j) for j in raw.get("jobs") or []],
        )

    def name_of(self, video_id: str | None, default: str = "a file") -> str:
        """The file name of ``video_id`` (``default`` for one not in the session)."""
        return next((v.name for v in self.video_infos if v.video_id == video_id), default)

    def info_of(self, video_id: str | None) -> VideoInfo | None:
        return next((v for v in self.video_infos if v.video_id == video_id), None)

    def jobs_of(self, video_id: str | None) -> list[Job]:
        return [j for j in self.jobs if j.video_id == video_id]

    @property
    def busy_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.busy]

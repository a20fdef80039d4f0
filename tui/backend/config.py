"""The running backend's settings and shared objects, handed to every route."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tui.backend.store import Store

DEFAULT_MODEL_LABEL = "base+tiny.en (bundled)"


@dataclass
class Config:
    data_dir: Path
    max_upload_bytes: int = 500 * 1024 * 1024
    #: Credits of a new token; None: unlimited (the app's own backend).
    starting_credits: int | None = 100
    workers: int = 1
    allow_private_urls: bool = True
    model: str | None = None
    #: Speaker labels of every job: "builtin", "campplus", "pyannote" or "none".
    diarizer: str = "builtin"
    device: str = "cpu"
    #: A heartbeat is sent when nothing else was sent for this long.
    heartbeat_s: float = 15.0
    #: A stream ends after this long even if its job still runs (the job goes on).
    stream_limit_s: float = 15 * 60
    #: How often an open stream looks for new events.
    poll_s: float = 0.2
    #: Uploads and exports of sessions idle this many days are removed (None: kept).
    keep_days: float | None = None

    @property
    def model_label(self) -> str:
        return self.model or DEFAULT_MODEL_LABEL


@dataclass
class Backend:
    config: Config
    store: Store
    #: Stable id of this data dir's backend (clients key their token by it).
    server_id: str = ""
    #: Exports run here, never on the event loop; they are short and cost no credits.
    exports: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="export")
    )

    @cached_property
    def model_multilingual(self) -> bool | None:
        """Whether the jobs' model can translate, told without loading it (None: unknown).

        Computed once: the API process never loads a model, and a model name may
        need faster-whisper imported to be resolved.
        """
        from tui.engine.transcribe import multilingual_unloaded

        return multilingual_unloaded(self.config.model)

"""The running backend's settings and shared objects, handed to every route."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tui.backend.limits import AuthThrottle
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
    #: New tokens (new client ids) one address may get per hour; 0: no limit.
    tokens_per_hour: int = 20
    #: Bad bearer tokens one address may send per minute before it is answered 429; 0: no limit.
    auth_failures_per_minute: int = 30
    #: Proxies (addresses or networks) whose X-Forwarded-For names the caller.
    trusted_proxies: tuple[str, ...] = ()
    #: The largest JSON body (commands, URL uploads); larger answers 413 / code 422.
    max_json_bytes: int = 1024 * 1024
    #: The largest script a PUT may send (each script is also held to a bound
    #: proportional to its media's length: 1 MB + 256 KB per minute).
    max_script_bytes: int = 64 * 1024 * 1024
    #: Stop once no app or watcher is attached and nothing is under way (an
    #: embedded backend; see :mod:`tui.attachments`).
    exit_when_unused: bool = False

    #: Team mode (docs/team.md): PostgreSQL URL, queue (Redis) URL, shared storage root.
    database_url: str | None = None
    queue_url: str | None = None
    storage: Path | None = None
    #: The token of ``/api/admin/workers`` (None: the endpoint answers 404).
    admin_token: str | None = None
    #: A running job's lease: its worker renews it; another takes over once it lapses.
    lease_s: float = 30.0
    #: How often the elected sweeper looks for lapsed leases and lost messages.
    sweep_s: float = 5.0

    @property
    def team(self) -> bool:
        return self.database_url is not None

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

    #: Wakes streams when events commit (team mode: PostgreSQL NOTIFY); None: polling.
    notifier: Any = None
    #: Worker processes alive now (laptop: the pool's; team: the nodes table's).
    live_workers: Callable[[], int] = lambda: 0

    @cached_property
    def auth_throttle(self) -> AuthThrottle:
        return AuthThrottle(self.config.auth_failures_per_minute)

    @cached_property
    def model_multilingual(self) -> bool | None:
        """Whether the jobs' model can translate, told without loading it (None: unknown).

        Computed once: the API process never loads a model, and a model name may
        need faster-whisper imported to be resolved.
        """
        from tui.engine.transcribe import multilingual_unloaded

        return multilingual_unloaded(self.config.model)

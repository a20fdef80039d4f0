"""An API process of a team: PostgreSQL store, Dramatiq dispatch, NOTIFY, the sweeper.

``reelscript serve --database postgresql://... --queue redis://... --storage DIR``
(or ``REELSCRIPT_DATABASE_URL``, ``REELSCRIPT_QUEUE_URL``, ``REELSCRIPT_STORAGE``)
runs the same API with no local worker processes: jobs go to ``reelscript
worker`` processes on any machine through the queue.  Unlike the laptop
backend, an API process never "recovers" jobs or fails exports at start (other
API processes and workers are alive): lapsed leases are the sweeper's, and
only one API process sweeps at a time (see :mod:`tui.backend.leases`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from tui.backend import leases
from tui.backend.config import Backend, Config
from tui.backend.store import Store

log = logging.getLogger("reelscript.team")


def open_store(config: Config) -> Store:
    """The laptop's SQLite under the data dir, or a team's PostgreSQL and storage root."""
    if not config.team:
        return Store(config.data_dir)
    from tui.backend.store_pg import PgStore

    return PgStore(str(config.database_url), Path(config.storage or config.data_dir))


async def _every(seconds: float, work, *args) -> None:  # type: ignore[no-untyped-def]
    while True:
        try:
            await asyncio.to_thread(work, *args)
        except Exception:  # logged; the next pass tries again
            log.exception("%s failed", getattr(work, "__name__", work))
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def running(backend: Backend) -> AsyncIterator[None]:
    """While an API process of a team runs: dispatch, notifications, sweeping, liveness."""
    from tui.backend.dispatch import Dispatcher
    from tui.backend.notify import Notifier

    config, store = backend.config, backend.store
    dispatcher = Dispatcher(store, str(config.queue_url))
    store.dispatch = dispatcher.send
    notifier = Notifier(str(config.database_url), fallback_s=max(0.2, config.poll_s * 5))
    notifier.start(asyncio.get_running_loop())
    backend.notifier = notifier
    node = leases.register(store, "api")
    backend.live_workers = lambda: len(leases.live_workers(store, config.lease_s))

    def sweep() -> None:
        leases.beat(store, node)
        if leases.elect(store):
            leases.sweep(store, dispatcher)

    tasks = [asyncio.create_task(_every(config.sweep_s, sweep))]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        notifier.stop()
        with contextlib.suppress(Exception):
            leases.leave(store, node)

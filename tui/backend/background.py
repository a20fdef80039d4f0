"""The server's background tasks: follow-up requests, retention, and stopping when unused.

:func:`tui.backend.server.create_app` starts them with the app and cancels them on
shutdown; each one polls, and a failed pass is logged and tried again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from tui import attachments
from tui.backend import actions, housekeeping
from tui.backend.config import Backend
from tui.backend.store import Store

log = logging.getLogger("reelscript.server")

#: How often ``--keep-days`` looks for idle sessions while the server runs.
RETENTION_EVERY_S = 3600.0
#: How often an embedded backend looks whether anyone still uses it.
UNUSED_POLL_S = 0.25


async def follow_ups(backend: Backend) -> None:
    """Do the requests that wait for a finished job ("transcribe and export srt"), polled."""
    while True:
        try:
            await asyncio.to_thread(actions.continue_pending, backend)
        except Exception:  # a bug here must not stop the polling (nor the server)
            log.exception("follow-up requests failed")
        await asyncio.sleep(backend.config.poll_s)


async def exit_when_unused(backend: Backend) -> None:
    """``--exit-when-unused``: stop (as Ctrl+C would) once no attached app or watcher is
    alive and no job, export or follow-up request is under way."""
    while True:
        await asyncio.sleep(UNUSED_POLL_S)
        if attachments.attached(backend.config.data_dir):
            continue
        if await asyncio.to_thread(busy, backend.store):
            continue  # never under a running job: it finishes, then this stops
        log.warning("no app or watcher uses this backend any more: stopping")
        os.kill(os.getpid(), signal.SIGINT)
        return


def busy(store: Store) -> bool:
    db = store.db
    return bool(
        db.execute("SELECT 1 FROM jobs WHERE status IN ('queued', 'running') LIMIT 1").fetchone()
        or db.execute(
            "SELECT 1 FROM exports WHERE status IN ('queued', 'rendering') LIMIT 1"
        ).fetchone()
        or db.execute("SELECT 1 FROM invocations WHERE pending IS NOT NULL LIMIT 1").fetchone()
    )


async def retention(store: Store, keep_days: float) -> None:
    """``--keep-days``: what idle sessions hold is removed hourly (and at start)."""
    while True:
        await asyncio.sleep(RETENTION_EVERY_S)
        try:
            await asyncio.to_thread(housekeeping.retain, store, keep_days)
        except Exception:  # a failed pass is logged and tried again in an hour
            log.exception("retention pass failed")

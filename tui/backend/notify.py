"""Wake the open streams of this API process when events commit anywhere (PostgreSQL NOTIFY).

Every event is stored with ``pg_notify`` in its own transaction (see
:mod:`tui.backend.store_pg`), delivered at commit to every listening API
process.  One thread here listens and sets the waiting streams' flags; a
stream re-reads the events table (the truth) when woken, and at least every
``fallback_s`` anyway, so a lost connection costs latency, never events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict

import psycopg

from tui.backend.store_pg import CHANNEL

log = logging.getLogger("reelscript.notify")


class Notifier:
    """``LISTEN`` on one connection; streams subscribe by invocation id."""

    def __init__(self, url: str, fallback_s: float = 2.0) -> None:
        self.url, self.fallback_s = url, fallback_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True, name="notify")

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._wake(note.payload)
            except psycopg.Error as exc:  # streams poll meanwhile; listen again soon
                log.warning("LISTEN failed (%s); streams fall back to polling", exc)
                self._stop.wait(self.fallback_s)

    def _wake(self, invocation_id: str) -> None:
        flags = list(self.waiting.get(invocation_id, ()))
        if flags and self.loop is not None:
            for flag in flags:
                self.loop.call_soon_threadsafe(flag.set)

    @contextlib.contextmanager
    def subscribe(self, invocation_id: str):  # type: ignore[no-untyped-def]
        flag = asyncio.Event()
        self.waiting[invocation_id].add(flag)
        try:
            yield flag
        finally:
            self.waiting[invocation_id].discard(flag)
            if not self.waiting[invocation_id]:
                self.waiting.pop(invocation_id, None)

"""Run a real :class:`FolderWatcher` against the live backend and wait on what it reports."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tui.client.http import Client
from tui.watch import FolderWatcher, WatchEvent


class Recorder:
    """Every event of one watcher, with the monotonic time it came at."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher
        self.events: list[tuple[float, WatchEvent]] = []
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def __call__(self, event: WatchEvent) -> None:
        self.events.append((time.monotonic(), event))
        self._changed.set()

    def of(self, kind: type, path: Path | None = None) -> list[Any]:
        return [
            e for _, e in self.events if isinstance(e, kind) and (path is None or e.path == path)
        ]

    def times(self, kind: type, path: Path) -> list[float]:
        return [t for t, e in self.events if isinstance(e, kind) and e.path == path]

    async def until(self, done: Callable[[Recorder], bool], timeout: float = 120.0) -> None:
        """Wait for events until ``done(self)``; fails with the events so far on timeout."""
        deadline = time.monotonic() + timeout
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out; events so far: {[e for _, e in self.events]}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


@contextlib.asynccontextmanager
async def watching(
    folder: Path, server: Any, home: Path, **options: Any
) -> AsyncIterator[Recorder]:
    """A watcher on ``folder`` using ``server`` and the ledger in ``home``, stopped on exit."""
    options.setdefault("settle", 0.5)
    async with Client(server.url, token_file=home / "client.json", platform="watch") as client:
        recorder: Recorder
        watcher = FolderWatcher(
            folder, client, data_dir=home, on_event=lambda e: recorder(e), **options
        )
        recorder = Recorder(watcher)
        task = recorder.task = asyncio.create_task(watcher.run())
        await asyncio.wait_for(watcher.ready.wait(), 10)
        try:
            yield recorder
        finally:
            watcher.stop()
            try:
                await asyncio.wait_for(task, 30)
            finally:
                watcher.ledger.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "incoming"
    path.mkdir()
    return path

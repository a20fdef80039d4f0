"""Helpers to drive the app as a person would: type text, wait for work to finish."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from tui.app.panes.file_browser import FileBrowser


async def type_text(pilot: Pilot, text: str) -> None:
    """Type ``text`` key by key into whatever has focus."""
    await pilot.press(*(_character_to_key(char) for char in text))


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 120.0, what: str = "condition"
) -> None:
    """Let the app run until ``condition()`` is true (polling between its own frames)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def wait_for_group(pilot: Pilot, group: str) -> None:
    """Wait for every worker of ``group`` (e.g. "job", "save", "export") to finish."""
    workers = [w for w in pilot.app.workers if w.group == group]
    for worker in workers:
        try:
            await worker.wait()
        except (WorkerFailed, WorkerCancelled):
            pass  # the app reports failures itself (notification + log line)
    await pilot.pause()


def record_statuses(browser: FileBrowser, path: Path) -> list[str]:
    """Every badge ``path`` is given in ``browser`` from now on, in order."""
    seen: list[str] = []
    original = browser.set_status

    def record(at: Path, status: str) -> None:
        if at.resolve() == path:
            seen.append(status)
        original(at, status)

    browser.set_status = record  # type: ignore[method-assign]
    return seen

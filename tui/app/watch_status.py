"""What a folder watcher's events mean for the Files pane and the Log.

:func:`watch_event_status` maps each :mod:`tui.watch.events` event to the
file's badge (new/queued/working/done/failed) and a log line (or none: the
watcher's progress is shown by the badge, not logged line by line).
"""

from __future__ import annotations

from typing import Any

from tui.watch.events import FileDone, FileFailed, FileQueued, FileSkipped, FileWaiting, FileWorking


def watch_event_status(event: Any) -> tuple[str, str]:
    """(badge status or "", log line or "") for one watcher event."""
    name = event.path.name
    if isinstance(event, FileWaiting):
        return "new", ""
    if isinstance(event, FileQueued):
        return "queued", f"watch: {name} queued"
    if isinstance(event, FileWorking):
        return "working", ""
    if isinstance(event, FileDone):
        outputs = ", ".join(p.name for p in event.outputs)
        notes = "; ".join(event.notes)
        return "done", f"watch: {name} -> {outputs}" + (f" ({notes})" if notes else "")
    if isinstance(event, FileFailed):
        retry = f"; trying again in {event.retry_in:.0f} s" if event.retry_in else ""
        return "failed", f"watch: {name}: {event.reason}{retry}"
    if isinstance(event, FileSkipped):
        return (event.status if event.status in ("done", "failed", "queued") else ""), (
            f"watch: {name} skipped: {event.reason}"
        )
    return "", ""

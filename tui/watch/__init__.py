"""Folder watch: drop videos into a folder, get scripts back — exactly once, even across restarts.

Used two ways: headless by ``reelscript watch DIR`` (:func:`run_headless`, for
SSH, tmux, systemd) and from the app's ``w`` toggle, through the same
:class:`FolderWatcher`.

Using it from the app (a Textual async worker; nothing here imports Textual)::

    from tui.watch import FolderWatcher, FileDone, FileFailed, FileWorking

    watcher = FolderWatcher(
        folder,                 # Path to watch
        client,                 # the app's tui.client.http API client (already has its token)
        out=None,               # None: outputs next to each video; else this folder
        formats=("md",),        # or "md,srt,docx"
        recursive=False,
        settle=2.0,             # seconds a file must stay unchanged
        new_only=False,         # True: ignore files already in the folder
        force=False,            # True: redo what the ledger says is done
        on_event=handle,        # called on the loop with each event below; must not block
    )
    await watcher.run()         # returns after watcher.stop(); cancelling the worker works too;
                                # raises FolderGone (an OSError) if the folder disappears
                                # (watcher.ready, an asyncio.Event, is set once it is watching)

Events (frozen dataclasses in :mod:`tui.watch.events`, each with ``.path``,
the absolute path of the media file):

- ``FileWaiting(path, reason)`` — seen, still arriving or not yet readable
- ``FileQueued(path, position)`` — complete and new, waiting its turn
- ``FileWorking(path, stage, progress, eta_s)`` — stage ``uploading``, the
  job stages of docs/api.md (``probing`` .. ``writing``) or ``exporting``;
  progress 0..1
- ``FileDone(path, outputs, notes)`` — outputs written (tuple of Paths);
  notes e.g. "talk.md was changed since it was written, so kept; wrote talk.2.md"
- ``FileFailed(path, reason, code, retry_in)`` — one line for the user; the API
  code if any; ``retry_in`` seconds when it was not the file's fault (backend
  down, no credits): the watcher tries again by itself, doubling the pause
- ``FileSkipped(path, reason, status)`` — already done (same content), failed
  before, or a duplicate of one queued; ``status`` is done/failed/queued

The app maps these to file badges and log lines in :mod:`tui.app.watch_status`.

``watcher.stats`` (:class:`WatchStats`) keeps the totals; ``stats.summary()``
is the summary line.  ``watcher.stop()`` abandons the current video without
leaving partial outputs (it is redone next time).

For status badges in a file list without hashing anything,
``Ledger.open(data_dir).known_status(path)`` answers ``"done"``, ``"failed"``
or None.

What it guarantees: a file is submitted only once it has been unchanged for
the settle time and opens as media (a file moved in by rename, with an old
mtime, at once); the ledger (``watch.db`` in the data dir, keyed by the
content's SHA-256) makes each video's work happen once across restarts,
touches and renames; outputs are written atomically and never replace one the
user edited.
"""

from __future__ import annotations

from tui.watch.events import (
    FileDone,
    FileFailed,
    FileQueued,
    FileSkipped,
    FileWaiting,
    FileWorking,
    WatchEvent,
    WatchStats,
)
from tui.watch.headless import run_headless
from tui.watch.ledger import Ledger
from tui.watch.watcher import FolderGone, FolderWatcher

__all__ = [
    "FileDone",
    "FileFailed",
    "FileQueued",
    "FileSkipped",
    "FileWaiting",
    "FileWorking",
    "FolderGone",
    "FolderWatcher",
    "Ledger",
    "WatchEvent",
    "WatchStats",
    "run_headless",
]

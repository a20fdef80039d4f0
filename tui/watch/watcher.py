""":class:`FolderWatcher`: watch a folder, script every new video once, report as it goes.

Three tasks share one asyncio loop: the watchfiles ``awatch`` reader notes
every created or changed media file; the settle loop decides when a file has
fully arrived, hashes it and queues it unless the ledger already has it; the
worker takes the queue in arrival order, one video at a time, through the
backend (:mod:`tui.watch.submit`) and writes the outputs
(:mod:`tui.watch.outputs`).  See :mod:`tui.watch` for how to use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchfiles import Change, awatch

from tui.client.flow import EXTRACT_PROMPT
from tui.engine.formats.names import output_format, parse_formats
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
from tui.watch.ledger import Ledger
from tui.watch.outputs import (
    OutputWriter,
    Staged,
    output_target,
    sweep_stale_temps,
)
from tui.watch.stable import ArrivalTracker, is_watched_name, probe
from tui.watch.submit import VideoFailed, script_video

log = logging.getLogger(__name__)

#: How often the settle loop looks at arriving files (seconds).
POLL_INTERVAL = 0.2
#: A video that failed through no fault of its own is tried again after this long, doubling.
RETRY_FIRST_S = 30.0
RETRY_MAX_S = 600.0


class FolderGone(OSError):
    """The watched folder disappeared; :meth:`FolderWatcher.run` raises it."""


class FolderWatcher:
    """Watch ``folder`` and script each new video through ``client`` (a :class:`tui.client.http` client).

    ``on_event`` is called (on the loop, synchronously) with every
    :data:`~tui.watch.events.WatchEvent`; it must not block.
    """

    def __init__(
        self,
        folder: Path,
        client: Any,
        *,
        out: Path | None = None,
        formats: str | tuple[str, ...] = ("md",),
        recursive: bool = False,
        settle: float = 2.0,
        new_only: bool = False,
        force: bool = False,
        language: str = "auto",
        prompt: str = EXTRACT_PROMPT,
        data_dir: Path | None = None,
        ledger: Ledger | None = None,
        on_event: Callable[[WatchEvent], None] | None = None,
        retry_after: float = RETRY_FIRST_S,
        scripted: Callable[[Path], tuple[str, str] | None] | None = None,
        picture: dict[str, str] | None = None,
    ) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self.client = client
        self.out = Path(out).expanduser().resolve() if out is not None else None
        self.formats = parse_formats(formats)
        #: The captioned export's ``resolution`` and ``fit`` (API names; default: the server's).
        self.picture = dict(picture or {})
        self.recursive = recursive
        self.new_only = new_only
        self.force = force
        self.language = language
        self.prompt = prompt
        self.ledger = ledger if ledger is not None else Ledger.open(data_dir)
        self.writer = OutputWriter(self.ledger)
        self.on_event = on_event
        #: The script the caller already has for a file, as (session id, video id): its
        #: outputs are written from that script (with the user's edits), never a new one.
        self.scripted = scripted
        self.stats = WatchStats()
        self.tracker = ArrivalTracker(settle)
        self._queue: asyncio.Queue[tuple[Path, str]] = asyncio.Queue()
        self._inflight: dict[str, Path] = {}  # content hash -> path, queued or working
        self._said_waiting: dict[Path, str] = {}
        self._retries: dict[Path, int] = {}
        self.retry_after = retry_after
        self._stop = asyncio.Event()
        #: Set once the folder is being watched and its files were listed.
        self.ready = asyncio.Event()
        self._started_at = time.time()

    # -- public -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return: the current video is abandoned, nothing half-written."""
        self._stop.set()

    async def run(self) -> None:
        """Watch until :meth:`stop` is called or the task is cancelled."""
        self._started_at = time.time()
        folders = [self.folder] + ([self.out] if self.out else [])
        await asyncio.to_thread(sweep_stale_temps, folders, self.recursive)
        tasks = [
            asyncio.create_task(self._read_changes(), name="watch-changes"),
            asyncio.create_task(self._settle_loop(), name="watch-settle"),
            asyncio.create_task(self._work_loop(), name="watch-work"),
        ]
        # Let awatch register its watches before we list the folder, so nothing
        # created in between is missed (seeing a file twice is harmless).
        await asyncio.sleep(0.1)
        if not self.new_only:
            self._scan()
        self.ready.set()
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            self._stop.set()
            for task in [stopper, *tasks]:
                task.cancel()
            for task in [stopper, *tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # -- arrival ----------------------------------------------------------------------------

    def _wanted(self, path: Path) -> bool:
        if not is_watched_name(path):
            return False
        if not self.recursive:
            return path.parent == self.folder
        try:  # nothing inside hidden folders (.git, .Trash, partial-download folders)
            parts = path.parent.relative_to(self.folder).parts
        except ValueError:
            return False
        return not any(part.startswith(".") for part in parts)

    def _scan(self, top: Path | None = None) -> None:
        """The files already in ``top`` (default: the folder), oldest first."""
        top = top or self.folder
        pattern = top.rglob("*") if self.recursive else top.iterdir()
        found = []
        for path in pattern:
            with contextlib.suppress(OSError):
                if self._wanted(path) and path.is_file():
                    found.append((path.stat().st_mtime, str(path), path))
        for _, _, path in sorted(found):
            self.tracker.see(path)

    def _let_through(self, change: Change, raw: str) -> bool:
        path = Path(raw)
        if self._wanted(path):
            return True
        # A folder moved in whole brings its files without an event for each of them.
        return self.recursive and change == Change.added and path.is_dir()

    async def _read_changes(self) -> None:
        async for changes in awatch(
            self.folder,
            watch_filter=self._let_through,
            stop_event=self._stop,
            recursive=self.recursive,
            debounce=400,
            step=50,
            ignore_permission_denied=True,
        ):
            # watchfiles gives a set; sort so that a burst of files keeps its name order
            for change, raw in sorted(changes, key=lambda item: item[1]):
                path = Path(raw)
                if change == Change.deleted:
                    self.tracker.forget(path)
                    self._said_waiting.pop(path, None)
                    self.stats.waiting.discard(path)
                elif path.is_dir():
                    self._scan(path)
                else:
                    self.tracker.see(path)

    async def _settle_loop(self) -> None:
        while True:
            if not self.folder.is_dir():  # inotify says nothing more once it is gone
                raise FolderGone(f"{self.folder} was removed or unmounted")
            for path in list(self.stats.waiting):
                if path not in self.tracker:
                    self.stats.waiting.discard(path)
            for path, must_submit in self.tracker.settled():
                # A file the ledger knows as it is (a restart) needs no probe, only a skip.
                known = not self.force and self.ledger.known_status(path) is not None
                reason = None if must_submit or known else await asyncio.to_thread(probe, path)
                if reason is not None:
                    self.tracker.undecodable(path, reason)
                    self._say_waiting(path)
                    continue
                self.tracker.forget(path)
                self._said_waiting.pop(path, None)
                await self._arrived(path)
            for path in self._arriving_unannounced():
                self._say_waiting(path)
            await asyncio.sleep(POLL_INTERVAL)

    def _arriving_unannounced(self) -> list[Path]:
        return [p for p in self.tracker.paths() if p not in self._said_waiting]

    def _say_waiting(self, path: Path) -> None:
        reason = self.tracker.waiting_reason(path)
        if self._said_waiting.get(path) != reason:
            self._said_waiting[path] = reason
            # Our own mp4 export landing in the folder is no news (its hash decides later).
            if self.ledger.output_record(path) is None:
                self._emit(FileWaiting(path, reason))

    async def _arrived(self, path: Path) -> None:
        """A file is complete: queue it unless it is known, in flight, or our own output."""
        try:
            digest = await asyncio.to_thread(self.ledger.content_hash, path)
        except OSError:
            return  # removed while we looked
        if self.ledger.is_our_output(path, digest):
            self.stats.waiting.discard(path)
            return
        if digest in self._inflight:
            other = self._inflight[digest]
            if other != path:
                self._emit(
                    FileSkipped(path, f"same content as {other.name}, already queued", "queued")
                )
            return
        if self._known(path, digest):
            return
        self._inflight[digest] = path
        await self._queue.put((path, digest))
        self.stats.queued = self._queue.qsize()
        self._emit(FileQueued(path, self._queue.qsize()))

    def _known(self, path: Path, digest: str) -> bool:
        """True (and say so) when the ledger has this content and it is not to be redone."""
        record = self.ledger.get(digest)
        redo = self.force and record is not None and record.updated_at < self._started_at
        if record is None or redo:
            return False
        if record.status == "done":
            where = ", ".join(p.name for p in record.outputs) or "no outputs"
            same = "" if record.source == path else f" as {record.source.name}"
            made = {output_format(p) for p in record.outputs}
            missing = [fmt for fmt in self.formats if fmt not in made]
            lacks = f"; made without {', '.join(missing)}: --force redoes it" if missing else ""
            self._emit(FileSkipped(path, f"already done{same} ({where}){lacks}"))
        else:
            reason = record.reason or "unknown reason"
            if len(reason) > 80:
                reason = reason[:79] + "…"
            self._emit(FileSkipped(path, f"failed before: {reason} (--force retries)", "failed"))
        return True

    # -- work -------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while True:
            path, digest = await self._queue.get()
            self.stats.queued = self._queue.qsize()
            try:
                await self._process(path, digest)
            finally:
                self._inflight.pop(digest, None)

    async def _process(self, path: Path, digest: str) -> None:
        try:  # cheap unless it changed: the hash is cached by size and mtime
            current = await asyncio.to_thread(self.ledger.content_hash, path)
        except OSError:
            self._emit(FileSkipped(path, "removed before its turn", ""))
            return
        if current != digest:
            return  # replaced while queued: the new version arrives through the tracker
        other = self.ledger.claim(digest)
        if other is not None:
            self._emit(FileSkipped(path, f"another watcher (pid {other}) is on it", "queued"))
            return
        try:
            if not self._known(path, digest):  # another watcher may have done it meanwhile
                await self._script(path, digest)
        finally:
            self.ledger.release(digest)

    async def _script(self, path: Path, digest: str) -> None:
        """Process one claimed video: outputs written and recorded, or a failure reported."""
        staged = [
            Staged(self.writer.temp_for(target), target, fmt)
            for fmt in self.formats
            for target in [output_target(path, fmt, self.folder, self.out)]
        ]

        def progress(stage: str, fraction: float, eta_s: float | None) -> None:
            self._emit(FileWorking(path, stage, max(0.0, min(1.0, fraction)), eta_s))

        progress("uploading", 0.0, None)
        try:
            notes, failed, (session_id, video_id) = await script_video(
                self.client,
                path,
                {item.fmt: item.temp for item in staged},
                language=self.language,
                prompt=self.prompt,
                progress=progress,
                existing=self.scripted(path) if self.scripted is not None else None,
                picture=self.picture,
            )
            self.writer.discard([item for item in staged if item.fmt in failed])
            staged = [item for item in staged if item.fmt not in failed]
            for item in staged:
                await asyncio.to_thread(self.writer.fsync, item.temp)
            written, kept = self.writer.commit(staged, path, digest)
        except VideoFailed as failure:
            self.writer.discard(staged)
            if not path.exists():
                self._emit(FileSkipped(path, "removed while it was being processed", ""))
            elif failure.permanent:
                self.ledger.mark_failed(digest, path, failure.reason, failure.code)
                self._emit(FileFailed(path, failure.reason, failure.code))
            else:
                self._emit(FileFailed(path, failure.reason, failure.code, self._retry_later(path)))
            return
        except asyncio.CancelledError:
            self.writer.discard(staged)
            raise
        except OSError as error:  # our side: output folder not writable, disk full
            self.writer.discard(staged)
            self._emit(FileFailed(path, f"cannot write the outputs: {error}"))
            return
        self.ledger.mark_done(digest, path, written)
        self._retries.pop(path, None)
        self._emit(FileDone(path, tuple(written), tuple(notes + kept), session_id, video_id))

    def _retry_later(self, path: Path) -> float:
        """Look at ``path`` again after a pause that doubles with each failure (to 10 min)."""
        tries = self._retries[path] = self._retries.get(path, 0) + 1
        delay = min(self.retry_after * 2 ** (tries - 1), RETRY_MAX_S)
        asyncio.get_running_loop().call_later(delay, self.tracker.see, path)
        return delay

    def _emit(self, event: WatchEvent) -> None:
        self.stats.count(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken display must not stop the watcher
                log.exception("watch event handler failed")

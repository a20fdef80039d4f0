"""Which files to watch, and when a file that is arriving is complete enough to submit.

A file counts as arrived once its size and mtime have not changed for the
settle time *and* it opens as media.  A file whose mtime is already older than
the settle time when first seen (moved in by rename, or there before we
started) is ready at once.  A file that stays unchanged but never opens (a
corrupt file, a text file named ``.mp4``) is released after a longer grace
time, so that the backend judges it and the user gets its reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tui.engine.media_kinds import is_media


def is_watched_name(path: Path) -> bool:
    """A media file by its name, and not hidden: browsers, rsync and our own writer
    keep partial files under hidden names or ``.part``/``.crdownload`` suffixes."""
    name = path.name
    return not name.startswith(".") and is_media(path)


def probe(path: Path) -> str | None:
    """None when ``path`` opens as media with an audio or video stream, else why not.

    Blocking (PyAV reads the header); call it from a thread.
    """
    import av  # lazily: only the watcher needs it, and it is slow to import

    try:
        with av.open(str(path), mode="r") as container:
            if not any(s.type in ("audio", "video") for s in container.streams):
                return "no audio or video stream"
    except Exception as error:  # PyAV raises many kinds; any of them means "not yet"
        # FFmpeg errors carry the path and an errno in str(); the reason alone reads better
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return str(reason).splitlines()[0].lower()
    return None


@dataclass
class _Arrival:
    path: Path
    seq: int
    size: int
    mtime_ns: int
    changed_at: float  # monotonic time of the last change we saw
    ready_at_once: bool
    undecodable: str | None = None
    probed_at: float = 0.0


class ArrivalTracker:
    """Files seen but not yet submitted, in the order they arrived.

    The watcher calls :meth:`see` for every file event (and for each file found at
    start), and :meth:`settled` a few times a second; whatever :meth:`settled`
    returns it probes, then either :meth:`forget`\\ s (submitted) or calls
    :meth:`undecodable` (keep waiting).
    """

    def __init__(self, settle: float) -> None:
        self.settle = settle
        # A file that is complete but unreadable for this long is handed on anyway.
        self.grace = max(5.0, 3 * settle)
        self._arrivals: dict[Path, _Arrival] = {}
        self._seq = 0

    def __contains__(self, path: Path) -> bool:
        return path in self._arrivals

    def __len__(self) -> int:
        return len(self._arrivals)

    def paths(self) -> list[Path]:
        """The files still arriving, oldest first."""
        return list(self._arrivals)

    def see(self, path: Path, now: float | None = None) -> None:
        """A file was created or changed (or found at start)."""
        now = time.monotonic() if now is None else now
        try:
            stat = path.stat()
        except OSError:  # gone again (a temp file renamed away)
            self.forget(path)
            return
        arrival = self._arrivals.get(path)
        if arrival is None:
            self._seq += 1
            old = time.time() - stat.st_mtime >= self.settle
            self._arrivals[path] = _Arrival(
                path, self._seq, stat.st_size, stat.st_mtime_ns, now, old and stat.st_size > 0
            )
        elif (stat.st_size, stat.st_mtime_ns) != (arrival.size, arrival.mtime_ns):
            self._changed(arrival, stat.st_size, stat.st_mtime_ns, now)

    def forget(self, path: Path) -> None:
        self._arrivals.pop(path, None)

    def undecodable(self, path: Path, reason: str, now: float | None = None) -> None:
        """Settled but does not open yet: keep waiting (see :attr:`grace`)."""
        arrival = self._arrivals.get(path)
        if arrival is not None:
            arrival.undecodable = reason
            arrival.ready_at_once = False
            arrival.probed_at = time.monotonic() if now is None else now

    def waiting_reason(self, path: Path) -> str:
        arrival = self._arrivals.get(path)
        if arrival is None or arrival.undecodable is None:
            return "still being copied in"
        return f"not readable yet ({arrival.undecodable})"

    def settled(self, now: float | None = None) -> list[tuple[Path, bool]]:
        """Files to look at now, oldest arrival first, as ``(path, must_submit)``.

        ``must_submit`` is True when the file stayed unreadable past the grace time:
        submit it without probing so the backend can say what is wrong with it.
        """
        now = time.monotonic() if now is None else now
        ready: list[tuple[int, Path, bool]] = []
        for path, arrival in list(self._arrivals.items()):
            try:
                stat = path.stat()
            except OSError:
                self.forget(path)
                continue
            if (stat.st_size, stat.st_mtime_ns) != (arrival.size, arrival.mtime_ns):
                self._changed(arrival, stat.st_size, stat.st_mtime_ns, now)
                continue
            quiet_for = now - arrival.changed_at
            if arrival.undecodable is not None:
                if quiet_for >= self.grace:
                    ready.append((arrival.seq, path, True))
                elif now - arrival.probed_at >= max(1.0, self.settle):
                    # re-probe now and then: a slow writer may have finished the header
                    ready.append((arrival.seq, path, False))
            elif arrival.ready_at_once or quiet_for >= self.settle:
                ready.append((arrival.seq, path, False))
        return [(path, must) for _, path, must in sorted(ready)]

    @staticmethod
    def _changed(arrival: _Arrival, size: int, mtime_ns: int, now: float) -> None:
        arrival.size, arrival.mtime_ns, arrival.changed_at = size, mtime_ns, now
        arrival.ready_at_once = False
        arrival.undecodable = None

"""Watch progress on a terminal: live lines on a TTY, plain log lines elsewhere, errors with -q.

On a terminal (also over SSH and in tmux) a small live region shows one line
per file still in play — arriving, queued, working with stage and percent —
and the summary line; finished files scroll above it.  When the output is not
a terminal (systemd's journal, a log file, cron) every change is one plain,
timestamped line, and progress is only logged per stage, so logs stay short.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from tui.engine.errors import one_line
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

#: Lines of files in play the live region shows at most (then "… and N more").
MAX_LIVE_LINES = 8


def _name(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def _duration(seconds: float) -> str:
    minutes, whole = divmod(int(seconds + 0.5), 60)
    return f"{minutes}:{whole:02d}" if minutes else f"{whole}s"


def _eta(eta_s: float | None) -> str:
    return "" if eta_s is None or eta_s < 0 else f"  eta {_duration(eta_s)}"


class TerminalReport:
    """Turns watch events into terminal output. Use as a context manager around the watch."""

    def __init__(
        self, folder: Path, stats: WatchStats, *, quiet: bool, console: Console | None = None
    ) -> None:
        self.folder = folder
        self.stats = stats
        self.quiet = quiet
        self.console = console or Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
        self.live_mode = self.console.is_terminal and not quiet
        self._lines: dict[Path, str] = {}  # files in play -> their live line
        self._last_stage: dict[Path, tuple[str, int]] = {}
        self._live: Live | None = None

    def __enter__(self) -> TerminalReport:
        if self.live_mode:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def say(self, message: str, *, error: bool = False) -> None:
        """A line above the live region (or a log line)."""
        try:
            self._say(message, error)
        except OSError:  # the terminal is gone (SSH closed): keep working without it
            pass

    def _say(self, message: str, error: bool) -> None:
        message = one_line(message)  # a file name with a newline stays on one line
        if error:
            if self._live is not None:
                self._live.console.print(Text(message, style="bold red"))
            else:
                self.err.print(self._stamp(message), markup=False, soft_wrap=True)
            return
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(message, markup=False, soft_wrap=True)
        else:
            self.console.print(self._stamp(message), markup=False, soft_wrap=True)

    def _stamp(self, message: str) -> str:
        return message if self.live_mode else f"{time.strftime('%H:%M:%S')} {message}"

    def event(self, event: WatchEvent) -> None:
        """Show one watcher event."""
        name = _name(event.path, self.folder)
        if isinstance(event, FileWaiting):
            self._lines[event.path] = f"… {name}  {event.reason}"
            if not self.live_mode:
                self.say(f"waiting  {name}: {event.reason}")
        elif isinstance(event, FileQueued):
            self._lines[event.path] = f"· {name}  queued"
            if not self.live_mode:
                self.say(f"queued   {name}")
        elif isinstance(event, FileWorking):
            percent = int(event.progress * 100)
            self._lines[event.path] = f"▶ {name}  {event.stage} {percent:3d}%{_eta(event.eta_s)}"
            # In a log: a line per stage, and per quarter of a long one.
            step = (event.stage, percent // 25)
            if not self.live_mode and self._last_stage.get(event.path) != step:
                self._last_stage[event.path] = step
                self.say(f"working  {name}: {event.stage} {percent}%{_eta(event.eta_s)}")
        elif isinstance(event, FileDone):
            self._finish(event.path)
            outputs = ", ".join(_name(p, self.folder) for p in event.outputs)
            self.say(f"done     {name} -> {outputs}")
            for note in event.notes:
                self.say(f"         note: {note}")
            self._summary()
        elif isinstance(event, FileFailed):
            self._finish(event.path)
            again = f" (trying again in {_duration(event.retry_in)})" if event.retry_in else ""
            self.say(f"FAILED   {name}: {event.reason}{again}", error=True)
            self._summary()
        elif isinstance(event, FileSkipped):
            self._finish(event.path)
            self.say(f"skipped  {name}: {event.reason}")
        self._refresh()

    def _finish(self, path: Path) -> None:
        self._lines.pop(path, None)
        self._last_stage.pop(path, None)

    def _summary(self) -> None:
        if not self.live_mode:
            self.say(self.stats.summary())

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Group:
        # The working file first, then the rest in arrival order, within an 80x24 screen.
        ordered = sorted(self._lines.values(), key=lambda line: not line.startswith("▶"))
        shown = ordered[:MAX_LIVE_LINES]
        if len(ordered) > len(shown):
            shown[-1] = f"  … and {len(ordered) - len(shown) + 1} more"
        lines = [Text(line, no_wrap=True, overflow="ellipsis") for line in shown]
        lines.append(Text.from_markup(f"[dim]{escape(self.stats.summary())}  -  Ctrl+C stops[/]"))
        return Group(*lines)

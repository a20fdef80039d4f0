"""The Log pane: the live event stream of the running request.

Every event is one time-stamped line coloured by its kind (what you asked,
the agent's text, tool calls and results, stage changes, errors).  Heartbeats
are not written line by line: they fold into one status line under the log,
which says "⏳ Still working..." once two minutes have passed with nothing but
heartbeats.  The running job's progress shows as a bar with its stage and ETA;
when two requests stream at once, the bar stays until the last one ends.

The raw API calls and results are kept but shown only in verbose mode
(``v``); lines are wrapped again when the pane changes size.

Times are given by the caller (the moment an event arrived), so the pane
itself never reads a clock and renders the same for the same events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, RichLog

#: After this long with nothing but heartbeats, the status line says so plainly.
STILL_WORKING_AFTER = timedelta(minutes=2)

#: The log keeps the last this many events (a long session must not grow without end).
MAX_LINES = 5000

#: Kinds of log line; each has a component class ``sse-log--<kind>`` for its colour.
KINDS = ("you", "text", "call", "result", "stage", "info", "done", "error")
#: The raw API lines, shown only in verbose mode (``v``).
RAW = ("call", "result")

_KIND_LABELS = {
    "you": "you",
    "text": "agent",
    "call": "call",
    "result": "result",
    "stage": "stage",
    "info": "info",
    "done": "done",
    "error": "error",
}


def format_eta(eta_s: float | None) -> str:
    if eta_s is None or eta_s < 0:
        return ""
    seconds = round(eta_s)
    return f"ETA {seconds // 60}:{seconds % 60:02d}"


class SSELog(Vertical):
    """The Log pane: event lines, a progress bar, and a folded heartbeat line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"sse-log--{kind}" for kind in KINDS}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "clear", "Clear log", id="log.clear", tooltip="Clear the log lines"),
        Binding(
            "v",
            "toggle_verbose",
            "Verbose",
            id="log.verbose",
            tooltip="Show or hide the raw API calls and results",
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = ""
        self.last_event_at: datetime | None = None
        self.heartbeats = 0
        self._entries: list[tuple[str, str, datetime]] = []
        #: Streams still open: two requests may stream at once (a job and a question).
        self.streams = 0
        #: The last progress of each job whose stream is still open, by job id.
        self.jobs: dict[str, tuple[str, float, float | None]] = {}
        #: Whether the raw API calls and results (kinds in RAW) are shown.
        self.verbose = False
        self._width = 0

    def compose(self) -> ComposeResult:
        yield RichLog(
            id="log-lines",
            wrap=True,
            markup=False,
            auto_scroll=True,
            min_width=16,
            max_lines=MAX_LINES,
        )
        with Vertical(id="log-progress"):
            yield Label("", id="log-stage")
            yield ProgressBar(total=100, show_eta=False, show_percentage=True, id="log-bar")
        yield Label("", id="log-status")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._rewrite)
        self.query_one("#log-progress").display = False
        self.query_one("#log-status").display = False
        # The RichLog is what gets focus, so that it scrolls with the keys.
        self.query_one(RichLog).can_focus = True

    @property
    def lines(self) -> list[str]:
        """Every event line written so far, as plain text (unwrapped), raw ones included."""
        return [self._line(kind, message, at).plain for kind, message, at in self._entries]

    @property
    def shown_lines(self) -> list[str]:
        """The lines the pane shows (without the raw API lines unless verbose)."""
        return [
            self._line(kind, message, at).plain
            for kind, message, at in self._entries
            if self._shown(kind)
        ]

    def _shown(self, kind: str) -> bool:
        return self.verbose or kind not in RAW

    # -- writing ------------------------------------------------------------------
    def add(self, kind: str, message: str, at: datetime) -> None:
        """Write one event line."""
        kind = kind if kind in KINDS else "info"
        self._entries.append((kind, message, at))
        del self._entries[:-MAX_LINES]
        if self._shown(kind):
            self.query_one(RichLog).write(self._line(kind, message, at))
        self._activity(at)

    def action_toggle_verbose(self) -> None:
        self.verbose = not self.verbose
        self.border_title = "Log · verbose (v)" if self.verbose else "Log"
        self._rewrite()

    def on_resize(self) -> None:
        """Lines are wrapped when written: write them again at the new width."""
        width = self.query_one(RichLog).scrollable_content_region.width
        if width != self._width:
            self._width = width
            self.call_after_refresh(self._rewrite)

    def _line(self, kind: str, message: str, at: datetime) -> Text:
        line = Text()
        line.append(at.strftime("%H:%M:%S "), style="dim")
        label = Text(f"{_KIND_LABELS[kind]:<6} ")
        label.stylize(self.get_component_rich_style(f"sse-log--{kind}", partial=True))
        label.stylize("bold")
        line.append_text(label)
        line.append(message)
        return line

    def _rewrite(self, _theme: object = None) -> None:
        """Write the lines again in the colours of a new theme (written lines keep theirs)."""
        log = self.query_one(RichLog)
        log.clear()
        for kind, message, at in self._entries:
            if self._shown(kind):
                log.write(self._line(kind, message, at))

    def started(self) -> None:
        """A stream opened (its progress and heartbeats follow)."""
        self.streams += 1

    def progress(
        self, stage: str, fraction: float, eta_s: float | None, at: datetime, job_id: str = ""
    ) -> None:
        """Show a job's progress; a new stage of that job also gets a log line."""
        previous = self.jobs.get(job_id)
        if previous is None or previous[0] != stage:
            self.add("stage", stage, at)
        else:
            self._activity(at)
        self.jobs[job_id] = (stage, fraction, eta_s)
        self.stage = stage
        self._show_progress(job_id)

    def _show_progress(self, job_id: str) -> None:
        """The bar shows ``job_id``'s progress (and how many other jobs are running)."""
        stage, fraction, eta_s = self.jobs[job_id]
        self.query_one("#log-progress").display = True
        eta = format_eta(eta_s)
        label = f"{stage} · {eta}" if eta else stage
        others = len(self.jobs) - 1
        if others:
            label += f" (+{others} more job{'s' if others > 1 else ''})"
        self.query_one("#log-stage", Label).update(label)
        self.query_one("#log-bar", ProgressBar).update(progress=round(fraction * 100, 1))

    def heartbeat(self, at: datetime) -> None:
        """Fold a heartbeat into the status line."""
        self.heartbeats += 1
        status = self.query_one("#log-status", Label)
        status.display = True
        quiet_since = self.last_event_at or at
        if at - quiet_since >= STILL_WORKING_AFTER:
            status.update("⏳ Still working...")
        else:
            status.update(f"♥ still working · {at:%H:%M:%S}")
        if self.last_event_at is None:
            self.last_event_at = at

    def finish(self, job_ids: tuple[str, ...] = ()) -> None:
        """A stream ended (its jobs with it): hide the bar and the heartbeat line only when
        no other stream is still open, else show the progress of a job still running."""
        self.streams = max(0, self.streams - 1)
        for job_id in job_ids:
            self.jobs.pop(job_id, None)
        if self.streams == 0:
            self.jobs.clear()
        if self.jobs:
            latest = list(self.jobs)[-1]
            self.stage = self.jobs[latest][0]
            self._show_progress(latest)
            return
        self.stage = ""
        self.query_one("#log-progress").display = False
        if self.streams == 0:
            self.heartbeats = 0
            self.query_one("#log-status").display = False

    def action_clear(self) -> None:
        self.query_one(RichLog).clear()
        self._entries.clear()

    def _activity(self, at: datetime) -> None:
        self.last_event_at = at
        self.heartbeats = 0
        self.query_one("#log-status").display = False

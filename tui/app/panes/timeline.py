"""The Timeline pane: the session's draft drawn as lanes over a time ruler.

Lanes, top to bottom: the ruler, the video track (files/scenes), the speech
regions (audio track; ``▓`` where two or more people talk at once, from the
script's ``overlaps``), one lane per speaker (named, in the speaker's colour)
and the script turns (text track).  A cursor column follows the editor; moving
it with the keys posts :class:`Timeline.CursorMoved` so the editor follows.
``+``/``-`` zoom around the cursor and ``0`` fits the whole draft again.

Each lane uses its own glyph as well as a colour, so the lanes still read
with NO_COLOR set or on a monochrome terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.client.types import Draft, Segment, Track, TrackType, VideoInfo
from tui.engine.script import Script
from tui.engine.timecode import short_clock

LABEL_WIDTH = 10
#: Ruler steps to choose from (ms), so that labels are round numbers.
_RULER_STEPS = (
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
)
#: Speaker colours: theme variables, so that they suit the dark and the light theme.
SPEAKER_COLOURS = tuple(
    f"text-{name}" for name in ("primary", "warning", "success", "accent", "secondary", "error")
)
MAX_ZOOM = 8

# The footer shows each pair under one name, so that it fits 80 columns.
_TURN = Binding.Group("Turn")
_ZOOM = Binding.Group("Zoom")


def draft_for(draft: Draft, script: Script | None, files: list[VideoInfo]) -> Draft:
    """The draft to draw with ``script``.

    The session's draft shows its latest file; when the script shown is of
    another file (an earlier one, opened again), a draft of that file is made
    from its upload entry (in ``files``) and its turns.
    """
    shown = {seg.meta.get("video_id") for seg in draft.segments(TrackType.VIDEO)}
    if script is None or not shown or script.video_id in shown:
        return draft
    info = next((f for f in files if f.video_id == script.video_id), None)
    total = max([info.duration_ms if info else 0] + [t.end_ms for t in script.turns])
    name = info.name if info else None
    video = Segment(0, total, {"video_id": script.video_id, "name": name})
    speech = [Segment(t.start_ms, t.end_ms, {}) for t in script.turns]
    return Draft(total, [Track(TrackType.VIDEO, [video]), Track(TrackType.AUDIO, speech)])


class Timeline(Widget, can_focus=True):
    """The Timeline pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left",
            "step(-1)",
            "←",
            show=False,
            id="timeline.left",
            tooltip="Move the cursor back one column",
        ),
        Binding(
            "right",
            "step(1)",
            "→",
            show=False,
            id="timeline.right",
            tooltip="Move the cursor on one column",
        ),
        Binding(
            "shift+left,pageup",
            "turn(-1)",
            "Prev turn",
            key_display="⇧←",
            id="timeline.prev_turn",
            group=_TURN,
            tooltip="Jump to the previous turn",
        ),
        Binding(
            "shift+right,pagedown",
            "turn(1)",
            "Next turn",
            key_display="⇧→",
            id="timeline.next_turn",
            group=_TURN,
            tooltip="Jump to the next turn",
        ),
        Binding(
            "home", "jump(0)", "Start", show=False, id="timeline.start", tooltip="Jump to the start"
        ),
        Binding("end", "jump(-1)", "End", show=False, id="timeline.end", tooltip="Jump to the end"),
        Binding(
            "plus,equals_sign",
            "zoom(1)",
            "Zoom in",
            key_display="+",
            id="timeline.zoom_in",
            group=_ZOOM,
            tooltip="Zoom in around the cursor",
        ),
        Binding(
            "minus",
            "zoom(-1)",
            "Zoom out",
            key_display="-",
            id="timeline.zoom_out",
            group=_ZOOM,
            tooltip="Zoom out",
        ),
        Binding(
            "0",
            "fit",
            "Fit",
            show=False,
            id="timeline.fit",
            tooltip="Fit the whole draft in the pane",
        ),
    ]

    @dataclass
    class CursorMoved(Message):
        """The user moved the timeline's cursor (the editor follows)."""

        timeline: Timeline
        time_ms: int

        @property
        def control(self) -> Timeline:
            return self.timeline

    cursor_ms: reactive[int] = reactive(0)
    zoom: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draft = Draft()
        self.script: Script | None = None

    def show(self, draft: Draft | None, script: Script | None) -> None:
        """Draw this draft and script (either may be missing)."""
        self.draft = draft or Draft()
        self.script = script
        self.refresh(layout=True)

    # -- geometry ----------------------------------------------------------------
    @property
    def duration_ms(self) -> int:
        ends = [self.draft.duration_ms]
        if self.script is not None:
            ends += [self.script.duration_ms] + [t.end_ms for t in self.script.turns]
        return max(ends + [1])

    @property
    def lane_width(self) -> int:
        return max(8, self.size.width - LABEL_WIDTH)

    @property
    def ms_per_col(self) -> float:
        return max(10.0, self.duration_ms / self.lane_width / (2**self.zoom))

    @property
    def offset_ms(self) -> int:
        """The time at the left edge: keeps the cursor in view when zoomed in."""
        span = self.ms_per_col * self.lane_width
        if span >= self.duration_ms:
            return 0
        start = self.cursor_ms - span / 2
        return int(min(max(0, start), self.duration_ms - span))

    def column_of(self, ms: int) -> int:
        return int((ms - self.offset_ms) / self.ms_per_col)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return 4 + len(self._speakers())

    # -- keys -----------------------------------------------------------------------
    def action_step(self, columns: int) -> None:
        self._move_to(int(self.cursor_ms + columns * self.ms_per_col))

    def action_turn(self, direction: int) -> None:
        starts = sorted({t.start_ms for t in self.script.turns}) if self.script else []
        if direction > 0:
            later = [s for s in starts if s > self.cursor_ms]
            if later:
                self._move_to(later[0])
        else:
            earlier = [s for s in starts if s < self.cursor_ms]
            if earlier:
                self._move_to(earlier[-1])

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else self.duration_ms - 1)

    def action_zoom(self, step: int) -> None:
        self.zoom = min(MAX_ZOOM, max(0, self.zoom + step))

    def action_fit(self) -> None:
        self.zoom = 0

    def on_click(self, event: events.Click) -> None:
        """A click on a lane puts the cursor there (the mouse is optional, not ignored)."""
        offset = event.get_content_offset(self)
        if offset is not None and offset.x >= LABEL_WIDTH:
            self._move_to(int(self.offset_ms + (offset.x - LABEL_WIDTH) * self.ms_per_col))

    def _move_to(self, ms: int) -> None:
        self.cursor_ms = min(max(0, ms), self.duration_ms - 1)
        self.post_message(self.CursorMoved(self, self.cursor_ms))

    # -- drawing ----------------------------------------------------------------------
    def render(self) -> Group:
        width = self.lane_width
        lines = [self._ruler(width)]
        lines.append(self._lane(self._media_label(), self._video_cells(width)))
        lines.append(self._lane("Speech", self._speech_cells(width)))
        for index, (sid, name) in enumerate(self._speakers()):
            colour = self._colour(index)
            turns: list[tuple[int, int, dict[str, Any]]] = (
                [(t.start_ms, t.end_ms, {}) for t in self.script.turns if t.speaker == sid]
                if self.script
                else []
            )
            lines.append(self._lane(name, self._fill(turns, "█", width, colour)))
        lines.append(self._lane("Turns", self._turn_cells(width)))
        return Group(*lines)

    def _speakers(self) -> list[tuple[str, str]]:
        if self.script is None:
            return []
        return [(sid, self.script.speaker_name(sid)) for sid in self.script.speaker_order()]

    def _colour(self, index: int) -> Style:
        variables = self.app.theme_variables if self.is_attached else {}
        colour = variables.get(SPEAKER_COLOURS[index % len(SPEAKER_COLOURS)])
        return Style(color=colour) if colour else Style()

    def _lane(self, name: str, cells: list[tuple[str, Style]]) -> Text:
        line = Text(f"{name[: LABEL_WIDTH - 1]:<{LABEL_WIDTH}}", style="bold")
        cursor = self.column_of(self.cursor_ms)
        for column, (char, style) in enumerate(cells):
            line.append(char, style + Style(reverse=True) if column == cursor else style)
        return line

    def _ruler(self, width: int) -> Text:
        step = next((s for s in _RULER_STEPS if s / self.ms_per_col >= 8), _RULER_STEPS[-1])
        chars = [" "] * width
        first = -(-self.offset_ms // step) * step
        for tick in range(first, self.offset_ms + int(width * self.ms_per_col), step):
            column = self.column_of(tick)
            label = "╵" + short_clock(tick)
            if 0 <= column and column + len(label) <= width:
                chars[column : column + len(label)] = label
        cursor = self.column_of(self.cursor_ms)
        line = Text(f"@{short_clock(self.cursor_ms):<{LABEL_WIDTH - 1}}", style="bold")
        for column, char in enumerate(chars):
            line.append(char, Style(dim=True, reverse=column == cursor))
        return line

    def _fill(
        self,
        segments: Sequence[tuple[int, int, dict[str, Any]]],
        glyph: str,
        width: int,
        style: Style | None = None,
    ) -> list[tuple[str, Style]]:
        cells: list[tuple[str, Style]] = [(" ", Style())] * width
        for start, end, _meta in segments:
            first, last = self.column_of(start), self.column_of(max(start, end - 1))
            for column in range(max(0, first), min(width, last + 1)):
                cells[column] = (glyph, style or Style())
        return cells

    def _speech_cells(self, width: int) -> list[tuple[str, Style]]:
        """Speech regions as ``▄``; where two or more people talk at once, ``▓``."""
        cells = self._fill(self.draft.segments(TrackType.AUDIO), "▄", width)
        overlaps = self.script.overlaps if self.script is not None else []
        if overlaps:
            both = self._fill([(s, e, {}) for s, e in overlaps], "▓", width, Style(bold=True))
            cells = [b if b[0] == "▓" else c for c, b in zip(cells, both, strict=True)]
        return cells

    def _video_cells(self, width: int) -> list[tuple[str, Style]]:
        segments = self.draft.segments(TrackType.VIDEO)
        cells = self._fill(segments, "▒", width, Style(dim=True))
        for start, _end, meta in segments:
            name = str(meta.get("name") or meta.get("video_id") or "")
            column = max(0, self.column_of(start)) + 1
            for offset, char in enumerate(name[: max(0, width - column - 1)]):
                if cells[column + offset][0] == "▒":
                    cells[column + offset] = (char, Style(bold=True))
        return cells

    def _media_label(self) -> str:
        """ "Audio" for a sound file's lane, else "Video"."""
        names = [str(m.get("name") or "") for _s, _e, m in self.draft.segments(TrackType.VIDEO)]
        audio = names and all(n.lower().endswith(AUDIO_SUFFIXES) for n in names)
        return "Audio" if audio else "Video"

    def _turn_cells(self, width: int) -> list[tuple[str, Style]]:
        cells: list[tuple[str, Style]] = [(" ", Style())] * width
        if self.script is None:
            return cells
        order = [sid for sid, _ in self._speakers()]
        for turn in self.script.turns:
            style = self._colour(order.index(turn.speaker)) if turn.speaker in order else Style()
            first = self.column_of(turn.start_ms)
            last = self.column_of(max(turn.start_ms, turn.end_ms - 1))
            for column in range(max(0, first), min(width, last + 1)):
                cells[column] = ("─", style)
            if 0 <= first < width:
                initial = speaker_mark(self.script.speaker_name(turn.speaker))
                cells[first] = (initial, style + Style(bold=True))
        return cells


#: Sound-only files: their lane is called Audio, not Video.
AUDIO_SUFFIXES = (".mp3", ".wav", ".m4a", ".aac")


def speaker_mark(name: str) -> str:
    """The one character marking a speaker's turn: the number of "Speaker 3" (so that
    unnamed speakers differ), else the name's initial."""
    match = re.fullmatch(r"(?:speaker|s)\s*(\d+)", name.strip(), re.IGNORECASE)
    if match:
        return match.group(1)[-1]
    return name[:1].upper() or "?"

"""The Script pane: the script as editable text, one turn per paragraph.

The text reads ``[00:01:23] Diane: ...`` (see :mod:`tui.app.script_text`).  The
pane keeps the script it was loaded with, says whether the text has changed
since (``dirty``), and turns the edited text back into a :class:`Script` for
saving.  Moving the cursor into another paragraph posts
:class:`ScriptEditor.CursorTime` so the timeline follows; :meth:`go_to_time`
moves the cursor to the turn at a time (the timeline driving the editor).
Undo/redo are the TextArea's own (Ctrl+Z / Ctrl+Y); saving keeps their history.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from tui.app.script_text import paragraph_starts, script_to_text, text_to_script
from tui.engine.script import Script


class ScriptEditor(TextArea):
    """The Script pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "undo", "Undo", id="script.undo", tooltip="Undo the last edit"),
        Binding(
            "ctrl+y", "redo", "Redo", show=False, id="script.redo", tooltip="Redo what was undone"
        ),
        Binding("ctrl+f", "find", "Find", id="script.find", tooltip="Find text in the script"),
    ]

    @dataclass
    class FindAsked(Message):
        """Ctrl+F in the script: the find bar should open for ``editor``."""

        editor: ScriptEditor

        @property
        def control(self) -> ScriptEditor:
            return self.editor

    @dataclass
    class CursorTime(Message):
        """The editor's cursor moved into the turn starting at ``time_ms``."""

        editor: ScriptEditor
        time_ms: int

        @property
        def control(self) -> ScriptEditor:
            return self.editor

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            placeholder="No script yet: pick a video in Files (1) and press Enter.",
        )
        self.script: Script | None = None
        self.saved_text = ""
        self._starts: list[tuple[int, int]] = []
        self._last_time: int | None = None
        self._following = False

    def action_find(self) -> None:
        self.post_message(self.FindAsked(self))

    # -- loading and reading back ---------------------------------------------------
    def load_script(self, script: Script | None, *, keep_cursor: bool = True) -> None:
        """Show ``script``.

        Another file's script (or none) replaces the text and starts the undo
        history again.  A new version of the same file's script (saved,
        re-read, a speaker renamed) keeps the history: if the text already
        reads so (the usual case after Ctrl+S) it is left alone; otherwise it is
        replaced as one edit, which Ctrl+Z can step back over.
        """
        location = self.cursor_location
        same_file = (
            script is not None
            and self.script is not None
            and script.video_id == self.script.video_id
        )
        self.script = script
        self.saved_text = script_to_text(script) if script is not None else ""
        if not same_file:
            self.load_text(self.saved_text)
        elif self.text != self.saved_text:
            self.history.checkpoint()
            self.replace(self.saved_text, (0, 0), self.document.end)
            self.history.checkpoint()
        self._starts = paragraph_starts(self.saved_text)
        if keep_cursor and location[0] < self.document.line_count:
            self.move_cursor(location)
        self.show_saved_state()

    def rebase(self, script: Script) -> None:
        """``script`` is now the stored version, but the text (typed since) stays as it is."""
        self.script = script
        self.saved_text = script_to_text(script)
        self.show_saved_state()

    @property
    def dirty(self) -> bool:
        """Whether the text differs from the last loaded or saved script."""
        return self.script is not None and self.text != self.saved_text

    def edited_script(self) -> Script:
        """The script as edited (raises ``ValueError`` if the text can't be read)."""
        if self.script is None:
            raise ValueError("there is no script to save yet")
        return text_to_script(self.text, self.script)

    # -- cursor <-> time ------------------------------------------------------------
    def time_at_cursor(self) -> int | None:
        """Start time of the turn the cursor is in."""
        index = self.turn_at_cursor()
        return None if index is None else self._starts[index][1]

    def turn_at_cursor(self) -> int | None:
        """The index of the turn (paragraph) the cursor is in."""
        if not self._starts:
            return None
        lines = [line for line, _ in self._starts]
        return max(0, bisect.bisect_right(lines, self.cursor_location[0]) - 1)

    def go_to_time(self, ms: int) -> None:
        """Put the cursor at the start of the turn playing at ``ms``."""
        if not self._starts:
            return
        times = [time for _, time in self._starts]
        index = max(0, bisect.bisect_right(times, ms) - 1)
        line = self._starts[index][0]
        if self.cursor_location[0] != line:
            self._following = True
            self.move_cursor((line, 0), center=True)
        self._last_time = self._starts[index][1]

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self._starts = paragraph_starts(self.text)
        self.show_saved_state()

    def show_saved_state(self) -> None:
        """The pane's title says when the text has changes not saved yet."""
        self.border_title = "Script ● unsaved (Ctrl+S)" if self.dirty else "Script"

    @on(TextArea.SelectionChanged)
    def _selection_changed(self) -> None:
        if self._following:
            # The cursor was moved for the timeline: don't echo it back.
            self._following = False
            return
        time = self.time_at_cursor()
        if time is not None and time != self._last_time:
            self._last_time = time
            self.post_message(self.CursorTime(self, time))


def language_note(script: Script | None) -> str:
    """The script pane's status line: the detected language(s), unless plain English."""
    from tui.engine.languages import name

    if script is None:
        return ""
    if script.translated_from:
        return f"English, translated from {name(script.translated_from)}"
    spoken = script.languages or [script.language]
    return "" if spoken == ["en"] else ", ".join(name(code) for code in spoken)

"""The Script pane's find bar: Ctrl+F in the script, type, Enter for the next match.

Hidden until asked for (:meth:`FindBar.open`).  Every keystroke searches the
script's text as it is now (edits included), case-insensitively, and selects
the first match at or after where the cursor was when the bar opened; Enter
or Down goes to the next match, Up to the previous one (both wrap), and the
bar says which match of how many is selected.  Tab leads to *words* (Space:
whole words only, "the" not in "they"), then to the replace field: Enter
there replaces every match (a misheard name, say) as one edit,
which Ctrl+Z in the script takes back; saving re-aligns the words as after
any edit.  Escape closes the bar and puts the cursor back in the script on
the match, so typing goes on from there.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, Label, TextArea
from textual.widgets.text_area import Document, Selection

from tui.engine.writing import replace_text, text_pattern


def matches(text: str, query: str, whole_words: bool = False) -> list[tuple[int, int]]:
    """Where ``query`` occurs in ``text``, ignoring case: (start, end) character offsets."""
    if not query:
        return []
    return [(m.start(), m.end()) for m in text_pattern(query, whole_words).finditer(text)]


class WordsBox(Checkbox):
    """The bar's "whole words" box, its mark seen without colour: X on, blank off."""

    BUTTON_INNER = " "

    def watch_value(self) -> None:
        super().watch_value()
        self.BUTTON_INNER = "X" if self.value else " "
        self.refresh()


class FindBar(Horizontal):
    """Find text in the script (:class:`~tui.app.panes.script_editor.ScriptEditor`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="find.close", tooltip="Back to the script"),
        Binding("down", "step(1)", "Next", id="find.next", tooltip="The next match (or Enter)"),
        Binding("up", "step(-1)", "Previous", id="find.previous", tooltip="The previous match"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target: TextArea | None = None
        self.found: list[tuple[int, int]] = []
        #: The match selected (an index of ``found``), or -1.
        self.current = -1
        self._origin = 0  # where the cursor was when the bar opened (a character offset)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Find: Enter next · ↑ previous · Esc", id="find-input")
        yield Label("", id="find-count")
        yield WordsBox("words", id="find-words", tooltip="Whole words only")
        yield Input(placeholder="Replace all with… (Enter)", id="replace-input")

    def open(self, target: TextArea) -> None:
        """Show the bar for ``target``, starting from its selection (or its cursor)."""
        self.target = target
        document = target.document
        start = target.selection.start
        self._origin = (
            document.get_index_from_location(start) if isinstance(document, Document) else 0
        )
        self.display = True
        field = self.query_one(Input)
        if target.selected_text and "\n" not in target.selected_text:
            field.value = target.selected_text
        field.focus()
        self._search(field.value)

    def action_close(self) -> None:
        self.display = False
        if self.target is not None:
            self.target.focus()

    def action_step(self, by: int) -> None:
        self._search(self.query_one(Input).value, step=by)

    @on(Input.Changed, "#find-input")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Checkbox.Changed, "#find-words")
    def _words(self) -> None:
        self._search(self.query_one("#find-input", Input).value)

    @property
    def whole_words(self) -> bool:
        return self.query_one("#find-words", Checkbox).value

    @on(Input.Submitted, "#find-input")
    def _next(self) -> None:
        self.action_step(1)

    @on(Input.Submitted, "#replace-input")
    def _replace_all(self, event: Input.Submitted) -> None:
        """Every match replaced, as one edit of the script (one Ctrl+Z takes it back)."""
        query = self.query_one("#find-input", Input).value
        if self.target is None or not query:
            return
        text, count = replace_text(self.target.text, query, event.value, self.whole_words)
        if count:
            location = self.target.cursor_location
            self.target.history.checkpoint()
            self.target.replace(text, (0, 0), self.target.document.end)
            self.target.history.checkpoint()
            if location[0] < self.target.document.line_count:
                self.target.move_cursor(location)
        self._search(query)
        self.query_one("#find-count", Label).update(f"{count} replaced")

    def _search(self, query: str, step: int = 0) -> None:
        """Select the match ``step`` matches away from the current one (0: the first at or
        after the origin), in the text as it is now."""
        if self.target is None:
            return
        self.found = matches(self.target.text, query, self.whole_words)
        if not self.found:
            self.current = -1
        elif step == 0 or self.current < 0:
            after = [i for i, (start, _) in enumerate(self.found) if start >= self._origin]
            self.current = after[0] if after else 0
        else:
            self.current = (self.current + step) % len(self.found)
            self._origin = self.found[self.current][0]  # typing on refines from here
        count = self.query_one("#find-count", Label)
        if self.current < 0:
            count.update("no match" if query else "")
            return
        count.update(f"{self.current + 1} of {len(self.found)}")
        start, end = self.found[self.current]
        document = self.target.document
        if not isinstance(document, Document):  # a TextArea's own always is one
            return
        self.target.selection = Selection(
            document.get_location_from_index(start), document.get_location_from_index(end)
        )
        self.target.scroll_cursor_visible(center=True)

"""The help screen (F1, or ``?`` outside text): every key of the app, by where it works.

Read from the bindings themselves (:func:`tui.app.commands.actions`), plus the
few keys that are Textual's own (Tab, the palette), so it never lists a key
that does nothing nor misses one that was added.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.app.commands import actions

#: Keys that work without a binding of ours: (keys, where, what they do).
BUILT_IN = [
    ("Tab / Shift+Tab", "anywhere", "Next / previous pane"),
    ("Ctrl+P", "anywhere", "Command palette: every action, with its key"),
    ("↑ ↓ Enter", "Files", "Move; Enter on a folder opens it"),
    ("Ctrl+Z / Ctrl+Y", "Script", "Undo / redo"),
    ("Enter / ↓, ↑", "find bar", "Next / previous match (wrapping); Escape: back to the script"),
    ("Tab, Space", "find bar", "Whole words only, or not"),
    ("Tab Tab, Enter", "find bar", "Replace every match (one edit: Ctrl+Z takes it back)"),
]


class HelpScreen(ModalScreen[None]):
    """Every key, in a table; Escape, F1, ``?`` or ``q`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "close", "Close", id="help.close", tooltip="Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Label("Keys (Escape closes)", classes="dialog-title")
            yield Static(self._table(), id="help-keys")

    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, where, what) for every key, the app's first, then each pane's."""
        rows: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for item in actions(self.app):
            if not item.keys or (item.keys, item.where) in seen:
                continue
            seen.add((item.keys, item.where))
            rows.append((item.keys, item.where or "anywhere", item.help))
        return rows + BUILT_IN

    def _table(self) -> Table:
        table = Table(box=None, expand=True, show_header=True, padding=(0, 1))
        table.add_column("Key", style="bold", no_wrap=True)
        table.add_column("Where", no_wrap=True)
        table.add_column("What it does", ratio=1)
        for keys, where, what in self.rows():
            table.add_row(Text(keys), Text(where), Text(what))
        return table

    def action_close(self) -> None:
        self.dismiss(None)

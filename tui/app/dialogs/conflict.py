"""A save refused as stale (409): both versions side by side, nothing lost.

Dismisses with ``"mine"`` (save my text over the server's), ``"theirs"``
(load the server's version; my text is put on the clipboard first) or
``"edit"`` (close and keep editing my text).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea


class ConflictScreen(ModalScreen[str]):
    """Show my text and the server's text; let the user choose."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "choose('edit')",
            "Keep editing",
            id="conflict.edit",
            tooltip="Close and keep editing your text",
        ),
    ]

    def __init__(self, mine: str, theirs: str, revision: int) -> None:
        super().__init__()
        self.mine = mine
        self.theirs = theirs
        self.revision = revision

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="conflict-dialog"):
            yield Label(
                f"The script changed on the server (now revision {self.revision}) "
                "since you started editing. Nothing is lost: choose what to keep.",
                classes="dialog-question",
            )
            with Horizontal(id="conflict-versions"):
                mine = TextArea(self.mine, read_only=True, id="conflict-mine")
                mine.border_title = "Yours"
                yield mine
                theirs = TextArea(self.theirs, read_only=True, id="conflict-theirs")
                theirs.border_title = f"On the server (rev {self.revision})"
                yield theirs
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save mine", variant="primary", id="mine")
                yield Button("Take theirs", variant="warning", id="theirs")
                yield Button("Keep editing", id="edit")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

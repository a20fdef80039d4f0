"""Rename or merge speakers, in one dialog.

Dismisses with a :class:`SpeakerEdit` (or None when cancelled); the app
applies it to the script and saves.  Whether a renamed speaker's voice is
remembered is asked here, beside the new name (a box, unticked unless the
user ticks it), so no second question pops up after the rename to catch the
keys the user types next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select


@dataclass(frozen=True)
class SpeakerEdit:
    """``rename``: speaker -> new display name; ``merge``: speaker's turns -> target."""

    kind: str
    speaker: str
    value: str
    #: A rename only: remember the speaker's voice under the new name.
    remember: bool = False


class SpeakersScreen(ModalScreen["SpeakerEdit | None"]):
    """Pick a speaker, then type a new name or pick a speaker to merge into."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "cancel", "Cancel", id="speakers.cancel", tooltip="Close, changing nothing"
        ),
    ]

    def __init__(
        self, speakers: dict[str, str], current: str | None = None, remember: str = "ask"
    ) -> None:
        super().__init__()
        self.speakers = speakers
        self.current = current if current in speakers else next(iter(speakers), None)
        #: "ask" (the box is shown), "always" or "never" (the setting decides, no box).
        self.remember = remember

    def compose(self) -> ComposeResult:
        options = [(name, sid) for sid, name in self.speakers.items()]
        with Vertical(classes="dialog", id="speakers-dialog"):
            yield Label("Speakers", classes="dialog-title")
            yield Label("Speaker")
            yield Select(
                options, value=self.current or Select.BLANK, allow_blank=False, id="speaker"
            )
            yield Label("New name (Enter renames)")
            yield Input(placeholder="e.g. Diane", id="new-name")
            yield Label("…or merge into")
            yield Select(options, prompt="another speaker", id="merge-into")
            if self.remember == "ask":  # after the fields, so Tab from the name reaches "merge"
                yield Checkbox("Renaming remembers the voice: later files name it", id="remember")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Rename", variant="primary", id="rename")
                yield Button("Merge", variant="warning", id="merge")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#new-name", Input).focus()

    def _speaker(self) -> str:
        value = self.query_one("#speaker", Select).value
        return str(value) if value is not Select.BLANK else ""

    @on(Input.Submitted, "#new-name")
    @on(Button.Pressed, "#rename")
    def _rename(self) -> None:
        name = self.query_one("#new-name", Input).value.strip()
        if not name:
            self.notify("Type the new name first.", severity="warning")
            return
        if self.remember == "ask":
            remember = self.query_one("#remember", Checkbox).value
        else:
            remember = self.remember == "always"
        self.dismiss(SpeakerEdit("rename", self._speaker(), name, remember))

    @on(Button.Pressed, "#merge")
    def _merge(self) -> None:
        target = self.query_one("#merge-into", Select).value
        if target is Select.BLANK or str(target) == self._speaker():
            self.notify("Pick another speaker to merge into.", severity="warning")
            return
        self.dismiss(SpeakerEdit("merge", self._speaker(), str(target)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

"""Ask which format to export and where to save it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from tui.watch.outputs import output_suffix

#: Export formats of API.md, in the order they are offered.
FORMATS = ("md", "txt", "srt", "vtt", "json", "docx", "fountain", "mp4", "rttm")


@dataclass(frozen=True)
class ExportChoice:
    format: str
    path: Path


class ExportScreen(ModalScreen["ExportChoice | None"]):
    """Choose a format and a file to save to; Enter in the path saves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close, saving nothing"),
    ]

    def __init__(self, stem: str, folder: Path, format: str = "md") -> None:
        super().__init__()
        self.stem = stem
        self.folder = folder
        self.format = format if format in FORMATS else "md"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Label("Export the script", classes="dialog-title")
            yield Label("Format")
            yield Select(
                [(f, f) for f in FORMATS], value=self.format, allow_blank=False, id="format"
            )
            yield Label("Save to (Enter saves)")
            yield Input(str(self._default_path(self.format)), id="path")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def _default_path(self, format: str) -> Path:
        return self.folder / f"{self.stem}{output_suffix(format)}"

    @on(Select.Changed, "#format")
    def _format_changed(self, event: Select.Changed) -> None:
        path = self.query_one("#path", Input)
        if Path(path.value) == self._default_path(self.format):
            self.format = str(event.value)
            path.value = str(self._default_path(self.format))
        else:
            self.format = str(event.value)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if not value:
            self.notify("Type where to save the file.", severity="warning")
            return
        path = Path(value).expanduser()
        if path.is_dir():
            path = path / self._default_path(self.format).name
        if not path.parent.is_dir():
            self.notify(f"No such folder: {path.parent}", severity="error")
            return
        self.dismiss(ExportChoice(self.format, path))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

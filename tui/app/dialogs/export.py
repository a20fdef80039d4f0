"""Ask which format to export and where to save it; show a video render's progress.

The captioned export ("MP4, captions in the picture") also asks for the frame
(16:9, vertical 9:16, or the video's own) and how a picture of another shape
fills it (a blurred fill, or cropped).  Rendering it takes a while: the
:class:`RenderScreen` shows a progress bar with the time left, and Ctrl+G
cancels it (the server keeps nothing of it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Select

from tui.engine.formats.names import FORMATS, output_suffix

#: How each format is offered, where its name alone does not say it.
LABELS = {"mp4": "MP4, subtitle track", "captioned": "MP4, captions in the picture"}
#: The captioned export's frames: (label, value); the value is the API's resolution.
FRAMES = (
    ("16:9, 1920x1080", "1080p"),
    ("9:16 vertical, 1080x1920", "1080x1920"),
    ("the video's own size", "source"),
)
FITS = (("whole, on a blurred fill", "blur"), ("cropped to fill", "crop"))


@dataclass(frozen=True)
class ExportChoice:
    format: str
    path: Path
    resolution: str = "1080p"
    fit: str = "blur"

    def video_options(self) -> dict[str, Any]:
        """The render options of a captioned export (none for the other formats)."""
        if self.format != "captioned":
            return {}
        return {"resolution": self.resolution, "fit": self.fit}


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
                [(LABELS.get(f, f), f) for f in FORMATS],
                value=self.format,
                allow_blank=False,
                id="format",
            )
            with Vertical(id="video-options"):
                yield Label("Frame")
                yield Select(list(FRAMES), value="1080p", allow_blank=False, id="frame")
                yield Label("A picture of another shape")
                yield Select(list(FITS), value="blur", allow_blank=False, id="fit")
            yield Label("Save to (Enter saves)")
            yield Input(str(self._default_path(self.format)), id="path")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#video-options").display = self.format == "captioned"
        self.query_one("#path", Input).focus()

    def _default_path(self, format: str) -> Path:
        return self.folder / f"{self.stem}{output_suffix(format)}"

    @on(Select.Changed, "#format")
    def _format_changed(self, event: Select.Changed) -> None:
        """The file's extension follows the format, whatever name was typed."""
        path = self.query_one("#path", Input)
        self.format = str(event.value)
        path.value = with_format(path.value, self.format)
        self.query_one("#video-options").display = self.format == "captioned"

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
        resolution = str(self.query_one("#frame", Select).value)
        fit = str(self.query_one("#fit", Select).value)
        self.dismiss(ExportChoice(self.format, path, resolution, fit))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


#: Starts the export, reporting each polled status to the callback; returns the saved file.
Render = Callable[[Callable[[dict[str, Any]], None]], Awaitable[Path]]


class RenderScreen(ModalScreen["Path | BaseException | None"]):
    """A video export under way: progress, time left, Ctrl+G cancels.

    Dismissed with the saved path, the error that stopped it, or None when
    cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+g",
            "cancel",
            "Cancel",
            id="render.cancel",
            tooltip="Stop the render; nothing is kept",
        ),
        Binding("escape", "cancel", "Cancel", id="render.escape", tooltip="Stop the render"),
    ]

    def __init__(self, target: Path, render: Render) -> None:
        super().__init__()
        self.target = target
        self.start = render
        self.progress = 0.0
        self.eta_s: float | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="render-dialog"):
            yield Label(f"Rendering {self.target.name}", classes="dialog-title")
            yield ProgressBar(total=1.0, show_eta=False, id="render-progress")
            yield Label("starting...", id="render-left")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (Ctrl+G)", id="render-cancel")

    def on_mount(self) -> None:
        self.run_worker(self._run(), exit_on_error=False, group="render")

    async def _run(self) -> None:
        try:
            saved: Path | BaseException = await self.start(self.show)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - handed to the app, which reports it
            saved = error
        self.dismiss(saved)

    def show(self, status: dict[str, Any]) -> None:
        """One polled status of the export (progress 0.1 when it starts, 1 when done)."""
        self.progress = min(1.0, max(0.0, (float(status.get("progress") or 0) - 0.1) / 0.89))
        self.eta_s = status.get("eta_s")
        self.query_one(ProgressBar).update(progress=self.progress)
        left = self.query_one("#render-left", Label)
        if status.get("status") == "queued":
            left.update("waiting for the export queue...")
        else:
            left.update(f"{self.progress:.0%}, {time_left(self.eta_s)}")

    @on(Button.Pressed, "#render-cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "render")  # the client cancels the render on the server
        self.dismiss(None)


def time_left(eta_s: float | None) -> str:
    """``75`` -> ``"1 min 15 s left"``."""
    if eta_s is None:
        return "estimating the time left"
    seconds = max(0, round(eta_s))
    if seconds < 60:
        return f"{seconds} s left"
    return f"{seconds // 60} min {seconds % 60:02d} s left"


def with_format(typed: str, format: str) -> str:
    """``typed`` with its export extension (any of :data:`FORMATS`') swapped for ``format``'s;
    a name without one gets it added.  ``~/a/panel.md`` -> ``~/a/panel.srt``."""
    if not typed.strip():
        return typed
    head, sep, name = typed.rpartition("/")
    for known in sorted(FORMATS, key=lambda f: -len(output_suffix(f))):
        suffix = output_suffix(known)
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return f"{head}{sep}{name}{output_suffix(format)}"

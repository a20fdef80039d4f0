"""The Voices screen: the remembered voices (name, files, last heard); rename, merge, forget.

It talks to the backend through ``call(method, path, body)`` (the app's
connection), so what it shows is the backend's book of this client identity.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar
from urllib.parse import quote

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select

Call = Callable[[str, str, "dict[str, Any] | None"], Awaitable[Any]]


def heard(when: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "never"


class VoicesScreen(ModalScreen[None]):
    """List the voices; the selected row can be renamed, merged into another, or forgotten."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="voices.close", tooltip="Close the Voices screen"),
    ]

    def __init__(self, call: Call) -> None:
        super().__init__()
        self.call = call
        self.voices: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="voices-dialog"):
            yield Label("Voices", classes="dialog-title")
            yield DataTable(id="voices-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="voices-note")
            yield Input(placeholder="new name for the selected voice", id="voice-name")
            yield Select([], prompt="merge the selected voice into…", id="voice-into")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Rename", variant="primary", id="voice-rename")
                yield Button("Merge", variant="warning", id="voice-merge")
                yield Button("Forget", variant="error", id="voice-forget")
                yield Button("Close", id="voice-close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Files", "Last heard")
        self.reload()

    @work(exclusive=True, group="voices", exit_on_error=False)
    async def reload(self) -> None:
        data = await self._ask("GET", "/api/voices", None)
        if data is None:
            return
        self.voices = list(data["voices"])
        table = self.query_one(DataTable)
        table.clear()
        for voice in self.voices:
            note = " (needs a new sample)" if voice.get("needs_sample") else ""
            table.add_row(voice["name"] + note, str(voice["files"]), heard(voice["last_heard"]),
                          key=voice["name"])  # fmt: skip
        names = [(v["name"], v["name"]) for v in self.voices]
        self.query_one("#voice-into", Select).set_options(names)
        self.query_one("#voices-note", Label).update(
            f"{len(self.voices)} voices remembered" if self.voices else
            "No voices remembered yet: rename a speaker and choose to remember the voice."
        )  # fmt: skip

    async def _ask(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        try:
            return await self.call(method, path, body)
        except Exception as error:  # noqa: BLE001 - the backend's one-line reason, shown
            self.notify(str(error), severity="error")
            return None

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.voices or table.cursor_row is None or table.cursor_row >= len(self.voices):
            self.notify("No voice is selected.", severity="warning")
            return None
        return str(self.voices[table.cursor_row]["name"])

    @on(Input.Submitted, "#voice-name")
    @on(Button.Pressed, "#voice-rename")
    def _rename(self) -> None:
        name, new = self.selected(), self.query_one("#voice-name", Input).value.strip()
        if name and not new:
            self.notify("Type the new name first.", severity="warning")
        elif name:
            self._change(
                f"/api/voices/{quote(name, safe='')}/rename", {"name": new}, f"{name} is now {new}"
            )

    @on(Button.Pressed, "#voice-merge")
    def _merge(self) -> None:
        name, into = self.selected(), self.query_one("#voice-into", Select).value
        if name and (into is Select.BLANK or into == name):
            self.notify("Pick another voice to merge into.", severity="warning")
        elif name:
            path = f"/api/voices/{quote(name, safe='')}/merge"
            self._change(path, {"into": str(into)}, f"{name} merged into {into}")

    @on(Button.Pressed, "#voice-forget")
    def _forget(self) -> None:
        name = self.selected()
        if name:
            path = f"/api/voices/{quote(name, safe='')}/forget"
            self._change(path, {}, f"Forgot {name}: every sample is deleted")

    @work(exclusive=True, group="voices-change", exit_on_error=False)
    async def _change(self, path: str, body: dict[str, Any], done: str) -> None:
        if await self._ask("POST", path, body) is not None:
            self.notify(done + ".")
            self.query_one("#voice-name", Input).value = ""
            self.reload()

    @on(Button.Pressed, "#voice-close")
    def action_close(self) -> None:
        self.dismiss(None)


#: Whether renaming a speaker remembers the voice: "ask" (the default: a box in the
#: rename dialog, unticked), "always", "never".
REMEMBER_SETTING = "REELSCRIPT_REMEMBER_VOICES"


def remember_setting() -> str:
    """The setting's value ("ask" when unset or not one of the three)."""
    import os

    choice = os.environ.get(REMEMBER_SETTING, "ask").strip().lower()
    return choice if choice in ("ask", "always", "never") else "ask"


def remember_voice(app: Any, video_id: str, speaker: str, name: str) -> None:
    """Remember ``speaker``'s voice in ``video_id`` as ``name`` (the user chose to), in a worker."""
    body = {"name": name, "session_id": app.connection.session_id, "video_id": video_id,
            "speaker": speaker}  # fmt: skip

    async def remember() -> None:
        try:
            await app.connection.voices("POST", "/api/voices/enrol", body)
        except Exception as error:  # noqa: BLE001 - the backend's one-line reason, shown
            app.notify(f"Could not remember {name}'s voice: {error}", severity="error")
            return
        app.notify(f"Remembered {name}'s voice: later files name {name}.")

    app.run_worker(remember(), group="remember-voice", exit_on_error=False)

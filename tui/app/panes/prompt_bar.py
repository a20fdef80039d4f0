"""The prompt bar: one line of free text for the agent, with a history.

What the user types goes to the app as :class:`PromptBar.Sent`; the app
decides whether it is handled directly (export, credits, status, upload) or
sent to ``/run_sse``.  Up/Down walk through what was sent before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

PLACEHOLDER = "Ask: transcribe with speaker labels · rename Speaker 2 to Sheila · export srt"
#: Shown while another pane has the focus: how to get here (typing there presses its keys).
UNFOCUSED = "F6 or 5 to ask: transcribe · rename Speaker 2 to Sheila · export srt"


class PromptBar(Input):
    """The prompt bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up",
            "history(-1)",
            "Previous",
            show=False,
            id="prompt.previous",
            tooltip="Recall the previous prompt",
        ),
        Binding(
            "down",
            "history(1)",
            "Next",
            show=False,
            id="prompt.next",
            tooltip="Recall the next prompt",
        ),
    ]

    @dataclass
    class Sent(Message):
        """The user sent a prompt."""

        bar: PromptBar
        text: str

        @property
        def control(self) -> PromptBar:
            return self.bar

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=UNFOCUSED, id=id, compact=True)
        self.history: list[str] = []
        self._position = 0

    def on_focus(self) -> None:
        self.placeholder = PLACEHOLDER

    def on_blur(self) -> None:
        self.placeholder = UNFOCUSED

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        self.history.append(text)
        self._position = len(self.history)
        self.value = ""
        self.post_message(self.Sent(self, text))

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = min(len(self.history), max(0, self._position + step))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

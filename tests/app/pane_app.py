"""A one-pane app with the real styles, so each pane can be snapshot on its own."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.widget import Widget

from tui.app.app import STYLES_DIR


class PaneApp(App[None]):
    """Shows one pane filling the screen, titled as in the real app."""

    CSS_PATH: ClassVar = [STYLES_DIR / "app.tcss"]

    def __init__(self, pane: Widget, title: str) -> None:
        super().__init__()
        self.pane = pane
        self.pane_title = title

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.border_title = self.pane_title
        self.pane.add_class("pane")
        self.pane.styles.height = "1fr"
        self.pane.styles.max_height = None

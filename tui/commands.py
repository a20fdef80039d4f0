"""The command palette (Ctrl+P): every action of the app and its panes.

The commands are read from the bindings themselves, so a key added to a pane
shows up here with its description and tooltip, and runs in that pane.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


class ActionsProvider(Provider):
    """Every binding of the app and of its panes, as commands."""

    def _commands(self) -> Iterator[tuple[str, str, DOMNode, str]]:
        app = self.app
        seen: set[tuple[int, str]] = set()
        # Panes carry the class "pane"; their own BINDINGS are their actions.
        sources: list[DOMNode] = [app, *app.query(".pane").results()]
        for node in sources:
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                key = (id(type(node)), binding.action)
                if key in seen:
                    continue
                seen.add(key)
                where = "" if node is app else str(getattr(node, "border_title", "") or "")
                title = f"{where}: {binding.description}" if where else binding.description
                yield title, binding.tooltip or binding.description, node, binding.action
        for title, help, action in getattr(app, "EXTRA_COMMANDS", ()):
            yield title, help, app, action

    def _run(self, node: DOMNode, action: str) -> None:
        self.app.call_later(self.app.run_action, action, node)

    async def discover(self) -> Hits:
        for title, help, node, action in self._commands():
            yield DiscoveryHit(title, partial(self._run, node, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, node, action in self._commands():
            score = matcher.match(f"{title} {help}")
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, node, action), help=help
                )

"""The command palette (Ctrl+P): every action of the app and its panes.

The commands are read from the bindings themselves, so a key added to a pane
shows up here with its key, description and tooltip, and runs in that pane.
:func:`actions` is also what the help screen (F1) lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


@dataclass(frozen=True)
class Action:
    """One action of the app or a pane: where it works, its keys, what it does."""

    where: str  # "" for the app (anywhere), else the pane's title
    keys: str  # as the user presses them: "Ctrl+S", "Shift+← / PgUp"; "" for none
    title: str
    help: str
    node: DOMNode
    action: str


_KEY_NAMES = {
    "left": "←", "right": "→", "up": "↑", "down": "↓", "pageup": "PgUp", "pagedown": "PgDn",
    "question_mark": "?", "plus": "+", "minus": "-", "equals_sign": "=", "escape": "Escape",
}  # fmt: skip


def key_names(keys: str) -> str:
    """``"shift+left,pageup"`` as the user reads it: ``"Shift+← / PgUp"``."""
    return " / ".join(
        "+".join(_KEY_NAMES.get(part, part.capitalize()) for part in key.strip().split("+"))
        for key in keys.split(",")
    )


def actions(app: App[object]) -> Iterator[Action]:
    """Every binding of the app and of its panes (class ``pane``), once per action (with
    all its keys), then the app's ``EXTRA_COMMANDS``; a pane's actions run in that pane."""
    found: dict[tuple[int, str], Action] = {}
    sources: list[DOMNode] = [app, *app.query(".pane").results()]
    for node in sources:
        for binding in getattr(node, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.description:
                continue
            key = (id(type(node)), binding.action)
            if key in found:
                item = found[key]
                found[key] = replace(item, keys=f"{item.keys} / {key_names(binding.key)}")
                continue
            found[key] = Action(
                "" if node is app else _pane_title(node),
                key_names(binding.key),
                binding.description,
                binding.tooltip or binding.description,
                node,
                binding.action,
            )
    yield from found.values()
    for title, help, action in getattr(app, "EXTRA_COMMANDS", ()):
        yield Action("", "", title, help, app, action)


def _pane_title(node: DOMNode) -> str:
    """A pane's name without the markers added to its title (``Script ● unsaved``)."""
    title = str(getattr(node, "border_title", "") or "")
    return title.split(" ●")[0]


class ActionsProvider(Provider):
    """Every binding of the app and of its panes, as commands, each with its key."""

    def _commands(self) -> Iterator[tuple[str, str, DOMNode, str]]:
        for item in actions(self.app):
            title = f"{item.where}: {item.title}" if item.where else item.title
            if item.keys:
                title = f"{title}  ({item.keys})"
            yield title, item.help, item.node, item.action

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

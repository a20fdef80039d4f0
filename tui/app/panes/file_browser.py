"""The Files pane: a folder tree of the media reelscript can script.

Only audio/video files are listed (by extension; the backend judges the
content when the file is uploaded).  Each file shows its size, its duration
(probed lazily, in a thread, when the line is first drawn) and a status
badge — new, queued, working, done, failed or cancelled — that the app sets as jobs go.
Enter submits the highlighted file (or every marked one), Space marks, ``w``
asks the app to watch the highlighted folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DirectoryTree
from textual.widgets._directory_tree import DirEntry
from textual.widgets.tree import TreeNode

from tui.engine.media_kinds import is_media

STATUSES = ("new", "queued", "working", "done", "failed", "cancelled")
_GLYPHS = {
    "new": "·",
    "queued": "…",
    "working": "⟳",
    "done": "✓",
    "failed": "✗",
    "cancelled": "⊘",
}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 10 else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.0f}G"  # pragma: no cover - loop always returns


def human_duration(ms: int) -> str:
    seconds = round(ms / 1000)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def probe_duration_ms(path: Path) -> int | None:
    """The media's duration for display, from the engine's probe (blocking)."""
    from tui.engine import media  # imported lazily: PyAV is slow to import

    info = media.probe(path)
    duration = getattr(info, "duration_ms", None)
    if duration is None and isinstance(info, dict):
        duration = info.get("duration_ms")
    return int(duration) if duration is not None else None


class FileBrowser(DirectoryTree):
    """The Files pane."""

    ICON_FILE = ""  # the status glyph stands where the file icon would be

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"file-browser--{status}" for status in STATUSES}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "submit",
            "Script",
            id="files.submit",
            tooltip="Upload the highlighted file (or the marked ones) and script it",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            id="files.mark",
            tooltip="Mark or unmark the highlighted file for a batch",
        ),
        Binding(
            "w",
            "watch_folder",
            "Watch",
            id="files.watch",
            tooltip="Start or stop watching the highlighted folder for new videos",
        ),
        Binding(
            "r", "reload", "Reload", id="files.reload", show=False, tooltip="Read the folder again"
        ),
        Binding(
            "backspace",
            "parent",
            "Up",
            show=False,
            id="files.parent",
            tooltip="Go up to the parent folder ('open PATH' in the prompt opens another)",
        ),
    ]

    @dataclass
    class Submitted(Message):
        """The user asked to script these files."""

        browser: FileBrowser
        paths: list[Path]

        @property
        def control(self) -> FileBrowser:
            return self.browser

    @dataclass
    class WatchToggled(Message):
        """The user asked to start or stop watching a folder."""

        browser: FileBrowser
        folder: Path

        @property
        def control(self) -> FileBrowser:
            return self.browser

    def __init__(self, path: str | Path, *, id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.marked: set[Path] = set()
        self.statuses: dict[Path, str] = {}
        self.durations: dict[Path, int | None] = {}
        self.watched: set[Path] = set()
        self._probing: set[Path] = set()
        self._path_nodes: dict[Path, TreeNode[DirEntry]] = {}

    # -- what is listed --------------------------------------------------------
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p for p in paths if not p.name.startswith(".") and (self._safe_is_dir(p) or is_media(p))
        ]

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is None:
            return label
        path = node.data.path
        self._path_nodes[path.resolve()] = node
        if node.allow_expand:
            if path.resolve() in self.watched:
                label.append(" 👁 watching", style="italic")
            return label
        key = path.resolve()
        status = self.statuses.get(key, "new")
        style = (
            self.get_component_rich_style(f"file-browser--{status}", partial=True)
            if self.is_mounted
            else Style()
        )
        # The glyph first, so the status shows even in a narrow pane; the word
        # last, for whoever has the room (and for screen readers).
        glyph = Text(_GLYPHS[status] + " ", style=style + Style(bold=True))
        mark = Text("● " if key in self.marked else "", style="bold")
        details = [human_size(_size(path))]
        if key in self.durations:
            duration = self.durations[key]
            details.append(human_duration(duration) if duration is not None else "?")
        else:
            self._probe_later(key)
        details_text = Text(" " + " ".join(details), style="dim")
        word = Text(" " + status, style=style)
        # Fit the pane: the status word goes first, then the name loses its middle.
        room = self._room(node) - len(mark) - len(glyph) - len(details_text)
        if len(label) + len(word) > room:
            word = Text("")
            if len(label) > room:
                label = elide_middle(label, max(room, 8))
        return Text.assemble(mark, glyph, label, details_text, word)

    def _room(self, node: TreeNode[DirEntry]) -> int:
        """Cells left on the node's line after the tree's guides."""
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        width = self.scrollable_content_region.width or 80
        return width - depth * self.guide_depth

    # -- state set by the app ---------------------------------------------------
    def set_status(self, path: Path, status: str) -> None:
        """Show ``status`` (one of :data:`STATUSES`) on the file's line.

        A file not listed yet (one that just arrived in a watched folder) makes
        its folder be read again, so it shows up.
        """
        key = path.resolve()
        self.statuses[key] = status
        if key in self._path_nodes:
            self._refresh_path(key)
            return
        folder = self._path_nodes.get(key.parent)
        if key.parent == Path(self.path).resolve():
            folder = self.root
        if folder is not None and folder.is_expanded:
            self.reload_node(folder)

    def set_watched(self, folder: Path, watching: bool) -> None:
        key = folder.resolve()
        (self.watched.add if watching else self.watched.discard)(key)
        self._refresh_path(key)

    def highlighted_path(self) -> Path | None:
        node = self.cursor_node
        return node.data.path if node is not None and node.data is not None else None

    # -- actions ----------------------------------------------------------------
    def action_submit(self) -> None:
        if self.cursor_node is self.root and not self.marked:
            self.action_cursor_down()  # the folder shown is open already: never fold it away
            return
        path = self.highlighted_path()
        if path is not None and self._safe_is_dir(path) and not self.marked:
            self.action_select_cursor()  # Enter on a folder opens it, as in any tree
            return
        paths = sorted(self.marked) or ([path.resolve()] if path is not None else [])
        if paths:
            self.marked.clear()
            self._show_marked()
            self.post_message(self.Submitted(self, paths))
            self._invalidate()

    def action_mark(self) -> None:
        path = self.highlighted_path()
        if path is None:
            return
        if self._safe_is_dir(path):
            self.action_toggle_node()
            return
        key = path.resolve()
        (self.marked.discard if key in self.marked else self.marked.add)(key)
        self._show_marked()
        self._refresh_path(key)
        self.action_cursor_down()

    def action_watch_folder(self) -> None:
        path = self.highlighted_path()
        if path is None:
            return
        folder = path if self._safe_is_dir(path) else path.parent
        self.post_message(self.WatchToggled(self, folder.resolve()))

    async def action_reload(self) -> None:
        await self.reload()

    def action_parent(self) -> None:
        self.open_folder(Path(self.path).resolve().parent)

    def open_folder(self, folder: Path) -> None:
        """Show ``folder`` instead (marks are dropped; statuses stay, by path)."""
        self.marked.clear()
        self._show_marked()
        self._path_nodes.clear()
        self.path = folder.resolve()

    def _show_marked(self) -> None:
        count = len(self.marked)
        self.border_subtitle = f"{count} marked · Enter scripts them" if count else ""

    # -- lazy probing -----------------------------------------------------------
    def _probe_later(self, path: Path) -> None:
        if path not in self._probing:
            self._probing.add(path)
            self.call_later(self._probe, path)

    @work(thread=True, exit_on_error=False, group="probe")
    def _probe(self, path: Path) -> None:
        try:
            duration = probe_duration_ms(path)
        except Exception:  # noqa: BLE001 - an unreadable file just shows "?"
            duration = None
        self.app.call_from_thread(self._set_duration, path, duration)

    def _set_duration(self, path: Path, duration: int | None) -> None:
        self.durations[path] = duration
        self._refresh_path(path)

    def _refresh_path(self, key: Path) -> None:
        node = self._path_nodes.get(key)
        if node is not None and node.tree is self and node.line >= 0:
            node.refresh()
        else:
            self._invalidate()

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        # Enter on a file is handled by action_submit; a mouse click only highlights.
        event.stop()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def elide_middle(text: Text, width: int) -> Text:
    """``panel discussion with the mayor.mov`` in ``width`` cells: ``panel dis…mayor.mov``
    (the end, with the extension, says more than the middle)."""
    if len(text) <= width:
        return text
    keep_end = (width - 1) // 2
    keep_start = width - 1 - keep_end
    return Text.assemble(text[:keep_start], "…", text[len(text) - keep_end :])

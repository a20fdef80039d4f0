"""The app's folder watching (``w``) and the scripts the watcher makes.

A mixin of :class:`tui.app.ReelscriptApp`, like :mod:`tui.app_work`.  A
file the app has scripted already is written from that script (with the
user's edits) rather than scripted again, and keeps its ✓; Enter on a file
the watcher scripted brings that script into the app's session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from tui.messages import FileStatus, LogLine
from tui.panes.file_browser import FileBrowser
from tui.session import Connection
from tui.watch.events import FileDone
from tui.watch_status import watch_event_status

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object


class WatchWork(_Base):
    """Watching folders from the app (see the module docstring)."""

    # Set by ReelscriptApp.__init__ (the app this is mixed into).
    connection: Connection
    state: dict[str, Any]
    watchers: dict[Path, Any]
    video_ids: dict[Path, str]
    show_after_load: Path | None
    #: Scripts the folder watcher made in this run, by file: (session id, video id).
    watched_scripts: dict[Path, tuple[str, str]]

    if TYPE_CHECKING:

        def load_state(self, say: bool = False) -> Any: ...  # BackendWork's worker

    def toggle_watch(self, folder: Path) -> None:
        """Start watching ``folder``, or stop if it is watched already."""
        watcher = self.watchers.pop(folder, None)
        if watcher is not None:
            watcher.stop()
            return
        if self.connection.client is None:
            self.notify("Not connected to the backend yet.", severity="warning")
            return
        self.watch_folder(folder)

    @work(group="watch", exit_on_error=False)
    async def watch_folder(self, folder: Path) -> None:
        """Watch ``folder`` until toggled off: new videos are scripted (``<name>.md`` beside them)."""
        from tui.watch import FolderWatcher

        browser = self.query_one(FileBrowser)
        watcher = FolderWatcher(
            folder,
            self.connection.client,
            on_event=self._watch_event,
            data_dir=self.connection.data_dir,
            scripted=self._script_here,
        )
        self.watchers[folder] = watcher
        browser.set_watched(folder, True)
        self.post_message(LogLine("info", f"watching {folder}"))
        try:
            await watcher.run()
        finally:
            self.watchers.pop(folder, None)
            browser.set_watched(folder, False)
            self.post_message(
                LogLine("info", f"stopped watching {folder}: {watcher.stats.summary()}")
            )

    def _script_here(self, path: Path) -> tuple[str, str] | None:
        """(session, video) of the script this app has for ``path``, if any: watching
        writes that one (with the user's edits) instead of scripting the file again."""
        video_id = self.video_ids.get(path.resolve())
        if video_id and video_id in (self.state.get("scripts") or {}):
            return self.connection.session_id, video_id
        return None

    def _watch_event(self, event: Any) -> None:
        status, line = watch_event_status(event)
        mine = self._script_here(event.path) is not None
        if isinstance(event, FileDone) and event.session_id and not mine:
            self.watched_scripts[event.path.resolve()] = (event.session_id, event.video_id)
        if status and not (mine and status in ("new", "queued", "working")):
            self.post_message(FileStatus(event.path, status))  # (a scripted file stays ✓)
        if line:
            self.post_message(LogLine("error" if status == "failed" else "info", line))

    @work(group="job", exit_on_error=False)
    async def adopt_watched(self, path: Path) -> None:
        """Enter on a file the folder watcher scripted: its script, not a new one."""
        session_id, video_id = self.watched_scripts.pop(path)
        info = await self.connection.adopt_script(path, session_id, video_id)
        self.video_ids[path] = str(info["video_id"])
        self.connection.remember_file(path, str(info["video_id"]))
        self.show_after_load = path
        self.load_state()

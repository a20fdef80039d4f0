"""The app's folder watching (``w``) and the scripts the watcher makes.

:class:`FolderWatching` is owned by :class:`tui.app.app.ReelscriptApp`.  A file
the app has scripted already is written from that script (with the user's
edits) rather than scripted again, and keeps its ✓; Enter on a file the
watcher scripted brings that script into the app's session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import Worker

from tui.app.messages import FileStatus, LogLine
from tui.app.panes.file_browser import FileBrowser
from tui.app.watch_status import watch_event_status
from tui.watch.events import FileDone

if TYPE_CHECKING:
    from tui.app.app import ReelscriptApp


class FolderWatching:
    """Watching folders from the app (see the module docstring)."""

    def __init__(self, app: ReelscriptApp) -> None:
        self.app = app
        #: The folder watchers running, by folder.
        self.watchers: dict[Path, Any] = {}
        #: Scripts the folder watcher made in this run, by file: (session id, video id).
        self.watched_scripts: dict[Path, tuple[str, str]] = {}

    def toggle(self, folder: Path) -> None:
        """Start watching ``folder``, or stop if it is watched already."""
        watcher = self.watchers.pop(folder, None)
        if watcher is not None:
            watcher.stop()
            return
        if self.app.connection.client is None:
            self.app.notify("Not connected to the backend yet.", severity="warning")
            return
        self.run_watcher(folder)

    def stop_all(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()

    def run_watcher(self, folder: Path) -> Worker[None]:
        """Watch ``folder`` until toggled off: new videos are scripted (``<name>.md`` beside them)."""
        return self.app.run_worker(self._watch(folder), group="watch", exit_on_error=False)

    async def _watch(self, folder: Path) -> None:
        from tui.watch import FolderWatcher

        app = self.app
        browser = app.query_one(FileBrowser)
        watcher = FolderWatcher(
            folder,
            app.connection.client,
            on_event=self._event,
            data_dir=app.connection.data_dir,
            scripted=self._script_here,
        )
        self.watchers[folder] = watcher
        browser.set_watched(folder, True)
        app.post_message(LogLine("info", f"watching {folder}"))
        try:
            await watcher.run()
        finally:
            self.watchers.pop(folder, None)
            browser.set_watched(folder, False)
            app.post_message(
                LogLine("info", f"stopped watching {folder}: {watcher.stats.summary()}")
            )

    def _script_here(self, path: Path) -> tuple[str, str] | None:
        """(session, video) of the script this app has for ``path``, if any: watching
        writes that one (with the user's edits) instead of scripting the file again."""
        video_id = self.app.video_ids.get(path.resolve())
        if video_id and video_id in self.app.state.scripts:
            return self.app.connection.session_id, video_id
        return None

    def _event(self, event: Any) -> None:
        status, line = watch_event_status(event)
        mine = self._script_here(event.path) is not None
        if isinstance(event, FileDone) and event.session_id and not mine:
            self.watched_scripts[event.path.resolve()] = (event.session_id, event.video_id)
        if status and not (mine and status in ("new", "queued", "working")):
            self.app.post_message(FileStatus(event.path, status))  # (a scripted file stays ✓)
        if line:
            self.app.post_message(LogLine("error" if status == "failed" else "info", line))

    def adopt(self, path: Path) -> Worker[None]:
        """Enter on a file the folder watcher scripted: its script, not a new one."""
        return self.app.run_worker(self._adopt(path), group="job", exit_on_error=False)

    async def _adopt(self, path: Path) -> None:
        app = self.app
        session_id, video_id = self.watched_scripts.pop(path)
        info = await app.connection.adopt_script(path, session_id, video_id)
        app.video_ids[path] = info.video_id
        app.connection.remember_file(path, info.video_id)
        app.show_after_load = path
        app.jobs.load_state()

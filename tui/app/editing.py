"""The app's script actions: save (with the 409 dialog), rename/merge speakers, export.

:class:`ScriptEditing` is owned by :class:`tui.app.app.ReelscriptApp`; its
workers run as the app's.  The user's text is never dropped: a failed or
refused save leaves the editor as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import Worker

from tui.app.connection import SaveConflict
from tui.app.dialogs.confirm import ConfirmScreen
from tui.app.dialogs.conflict import ConflictScreen
from tui.app.dialogs.export import ExportChoice, ExportScreen, RenderScreen
from tui.app.dialogs.speakers import SpeakerEdit, SpeakersScreen
from tui.app.dialogs.voices import VoicesScreen, remember_setting, remember_voice
from tui.app.messages import ExportReady, LogLine, SpeakerRenamed
from tui.app.panes.file_browser import FileBrowser
from tui.app.panes.script_editor import ScriptEditor
from tui.app.script_text import script_to_text
from tui.engine.formats.names import output_suffix
from tui.engine.script import Script, is_default_speaker_name
from tui.watch.outputs import numbered

if TYPE_CHECKING:
    from tui.app.app import ReelscriptApp


class ScriptEditing:
    """Saving, speakers and export (see the module docstring)."""

    def __init__(self, app: ReelscriptApp) -> None:
        self.app = app
        #: Where the last export of this run was saved (offered again next time).
        self.export_folder: Path | None = None

    # -- showing, saving, speakers, export ---------------------------------------------
    def show_script_of(self, path: Path) -> bool:
        """Show the script this session already has for ``path``; False if there is none."""
        app = self.app
        video_id = app.video_ids.get(path.resolve())
        raw = app.state.scripts.get(video_id) if video_id else None
        if raw is None:
            return False
        editor = app.query_one(ScriptEditor)
        if editor.dirty and editor.script is not None:
            if editor.script.video_id != video_id:

                def answered(discard: bool | None) -> None:
                    if discard:
                        editor.load_script(None)
                        self.show_script_of(path)

                app.push_screen(
                    ConfirmScreen(
                        f"The script shown has unsaved changes. Discard them and show "
                        f"{path.name}? (Stay, then Ctrl+S, keeps them)",
                        yes="Discard",
                        no="Stay",
                        id="confirm-discard",
                    ),
                    answered,
                )
            return True  # (the same file's script is shown already, with the user's edits)
        app.state.script = raw
        script = Script.from_dict(raw)
        editor.load_script(script, keep_cursor=False)
        app.script = script
        app.post_message(
            LogLine(
                "info",
                f"showing the script of {path.name} (ask 'transcribe {path.name}' to redo it)",
            )
        )
        return True

    def save(self) -> None:
        app = self.app
        editor = app.query_one(ScriptEditor)
        if editor.script is None:
            app.notify("There is no script to save yet.", severity="warning")
            return
        try:
            edited = editor.edited_script()
        except ValueError as error:
            app.notify(str(error), title="Not saved", severity="error")
            return
        self.save_script(edited, editor.text)

    def save_script(self, script: Script, text: str) -> Worker[None]:
        return self.app.run_worker(
            self._save_script(script, text), exclusive=True, group="save", exit_on_error=False
        )

    async def _save_script(self, script: Script, text: str) -> None:
        app = self.app
        editor = app.query_one(ScriptEditor)
        before = editor.text  # to tell whether the user typed on while it was saving
        try:
            saved = await app.connection.save_script(script)
        except SaveConflict as conflict:
            self._show_conflict(script, text, conflict.current)
            return
        if editor.text == before:
            editor.load_script(saved)
        else:
            editor.rebase(saved)  # typed on while saving: keep that, still unsaved
        app.state.script = saved.to_dict()
        app.state.scripts[saved.video_id] = app.state.script
        app.script = saved
        app.notify(f"Saved (revision {saved.revision}).")
        app.post_message(LogLine("done", f"script saved, revision {saved.revision}"))

    def _show_conflict(self, mine: Script, text: str, theirs: Script) -> None:
        app = self.app

        def chosen(choice: str | None) -> None:
            editor = app.query_one(ScriptEditor)
            if choice == "mine":
                mine.revision = theirs.revision
                self.save_script(mine, text)
            elif choice == "theirs":
                app.copy_to_clipboard(text)
                editor.load_script(theirs)
                app.script = theirs
                app.notify("Loaded the server's version; yours is on the clipboard.")
            # "edit": the editor still holds the user's text, unchanged.

        app.push_screen(ConflictScreen(text, script_to_text(theirs), theirs.revision), chosen)

    def speakers(self) -> None:
        app = self.app
        editor = app.query_one(ScriptEditor)
        if editor.script is None:
            app.notify("There is no script yet.", severity="warning")
            return
        if editor.dirty:
            app.notify("Save your edits first (Ctrl+S).", severity="warning")
            return
        index = editor.turn_at_cursor()  # (the text is saved: paragraphs are the turns)
        turns = editor.script.turns
        current = turns[index].speaker if index is not None and index < len(turns) else None
        app.push_screen(
            SpeakersScreen(dict(editor.script.speakers), current, remember_setting()),
            self._speakers_chosen,
        )

    def _speakers_chosen(self, edit: SpeakerEdit | None) -> None:
        editor = self.app.query_one(ScriptEditor)
        if edit is None or editor.script is None:
            return
        script = Script.from_dict(editor.script.to_dict())
        try:
            if edit.kind == "rename":
                script.rename_speaker(edit.speaker, edit.value)
            else:
                script.merge_speakers(edit.speaker, edit.value)
        except (KeyError, ValueError) as error:
            self.app.notify(str(error), severity="error")
            return
        self.save_script(script, script_to_text(script))
        if edit.kind == "rename" and edit.remember and script.video_id:
            sid = script.resolve_speaker(edit.speaker)
            remember_voice(self.app, script.video_id, sid, script.speaker_name(sid))

    def renamed_in_words(self, renamed: SpeakerRenamed) -> None:
        """A speaker renamed from the prompt: its voice is remembered as the setting says
        (``REELSCRIPT_REMEMBER_VOICES``): "always", "never", or (unset) the app asks once,
        for this rename, with "No" the answer Enter or Escape gives."""
        choice = remember_setting()
        if choice == "never" or is_default_speaker_name(renamed.name):
            return
        if choice == "always":
            remember_voice(self.app, renamed.video_id, renamed.speaker, renamed.name)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                remember_voice(self.app, renamed.video_id, renamed.speaker, renamed.name)

        self.app.push_screen(
            ConfirmScreen(
                f"Remember {renamed.name}'s voice, so that later files name {renamed.name}? "
                "(Only its voice print is kept, never the audio.)",
                yes="Remember",
                no="Not now",
                id="confirm-remember",
            ),
            answered,
        )

    def voices_screen(self) -> None:
        """The Voices screen: remembered voices to rename, merge or forget."""
        self.app.push_screen(VoicesScreen(self.app.connection.voices))

    def export_dialog(self, format: str = "md") -> None:
        app = self.app
        if not app.state.script:
            app.notify("There is no script to export yet.", severity="warning")
            return
        if app.query_one(ScriptEditor).dirty:
            app.notify(
                "Exporting the saved script: your unsaved edits are not in it (Ctrl+S saves them).",
                severity="warning",
            )
        stem, folder = self.export_place()
        app.push_screen(ExportScreen(stem, folder, format), self._export_chosen)

    def export_place(self, script: dict[str, Any] | None = None) -> tuple[str, Path]:
        """The name (without extension) and folder an export of ``script`` (default: the
        one shown) is offered under: the folder last saved to in this run, else the
        video's own folder, else (a video not on this machine) the Files folder."""
        script = script if script is not None else self.app.state.script or {}
        source = str(script.get("source") or "")
        video = next(
            (p for p, v in self.app.video_ids.items() if v and v == script.get("video_id")), None
        )
        stem = video.stem if video is not None else Path(source).stem if source else "script"
        if self.export_folder is not None and self.export_folder.is_dir():
            return stem, self.export_folder
        if video is not None and video.parent.is_dir():
            return stem, video.parent
        return stem, Path(self.app.query_one(FileBrowser).path).resolve()

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self.export_folder = choice.path.parent
            self.export(choice)

    def save_asked_export(self, ready: ExportReady) -> Worker[None]:
        return self.app.run_worker(
            self._save_asked_export(ready), group="export", exit_on_error=False
        )

    async def _save_asked_export(self, ready: ExportReady) -> None:
        """An export asked for in words ("rename ... and export srt") lands here, as the
        export dialog would have offered it (``<video>.<fmt>``, see :meth:`export_place`),
        under a free name (``<video>.2.<fmt>``, ...): an existing file is never replaced."""
        script = (await self.app.connection.state()).script or {}
        stem, folder = self.export_place(script)
        path = free_path(folder, stem, ready.format)
        await self.app.connection.download(ready.url, path)
        self._saved(path)

    def export(self, choice: ExportChoice) -> Worker[None]:
        return self.app.run_worker(
            self._export(choice), exclusive=True, group="export", exit_on_error=False
        )

    async def _export(self, choice: ExportChoice) -> None:
        app = self.app
        app.post_message(LogLine("info", f"exporting {choice.format}…"))
        shown = app.query_one(ScriptEditor).script
        video_id = shown.video_id if shown is not None else None
        if choice.format == "captioned":  # a video render: progress, time left, Ctrl+G

            def render(report: Callable[[dict[str, Any]], None]) -> Awaitable[Path]:
                return app.connection.export(
                    choice.format,
                    choice.path,
                    video_id,
                    **choice.video_options(),
                    on_progress=report,
                )

            saved = await app.push_screen_wait(RenderScreen(choice.path, render))
            if isinstance(saved, BaseException):
                raise saved
            if saved is None:
                app.post_message(LogLine("info", "export cancelled; nothing was kept"))
                return
        else:
            await app.connection.export(choice.format, choice.path, video_id=video_id)
        self._saved(choice.path)

    def _saved(self, path: Path) -> None:
        said = f"saved {path.name} in {tilde(path.parent)}"
        self.app.post_message(LogLine("done", said))
        self.app.notify(said[0].upper() + said[1:])


def tilde(folder: Path) -> str:
    """``folder`` as people write it: ``~/videos`` under the home folder."""
    try:
        return "~/" + str(folder.relative_to(Path.home())) if folder != Path.home() else "~"
    except ValueError:
        return str(folder)


def free_path(folder: Path, stem: str, format: str) -> Path:
    """``<stem>.<fmt>`` in ``folder``, else the first free ``<stem>.<n>.<fmt>``."""
    first = folder / f"{stem}{output_suffix(format)}"
    path, n = first, 2
    while path.exists():
        path, n = numbered(first, format, n), n + 1
    return path

"""``reelscript transcribe``: media files in, scripts out, with a progress bar.

Each input is handled on its own: one bad file gets a one-line error naming
the file and the reason, and the others still run.  The exit code is 0 when
every file was scripted, else the code of the first failure's kind (see
:mod:`tui.engine.errors`; 2 for bad options, 1 for an internal error).
Tracebacks are never shown (set ``REELSCRIPT_DEBUG=1`` to see them).  A file
name with a newline, tab or other control character is printed escaped
(``bad\\nname.mp4``), so each message stays one line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from tui.engine.errors import (
    Cancelled,
    EngineError,
    NoSpeechFound,
    OutputNotWritable,
    one_line,
)
from tui.engine.formats import captioned, parse_formats, write
from tui.engine.formats.names import FRAMES
from tui.engine.interrupts import sigint_handled_by
from tui.engine.pipeline import Options, overall_fraction, transcribe_file
from tui.engine.script import Script

USAGE_ERROR = 2
INTERNAL_ERROR = 1


def _say(console: Console, text: str) -> None:
    console.print(one_line(text), markup=False)


def run(files: list[Path], **options: Any) -> int:
    """Transcribe ``files``; return the process exit code."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    quiet = bool(options.get("quiet"))
    try:
        formats = parse_formats(str(options.get("formats") or "md"))
    except ValueError as exc:
        _say(err, f"error: {exc}")
        return USAGE_ERROR
    engine_options = _engine_options(options)
    from tui.cli.voices import book_for_transcribe

    book = book_for_transcribe(options.get("voices"), options.get("data_dir"))
    if book is not None and engine_options.diarizer != "none":
        engine_options.voices = book.profiles()
        options["book"] = book
    try:  # problems with the options themselves: say so once, not once per file
        _check_options(engine_options)
    except EngineError as exc:
        _say(err, f"error: {exc}")
        return exc.exit_code
    out = options.get("out")
    if out is not None:
        try:
            check_writable(Path(out))
        except OutputNotWritable as exc:
            _say(err, f"error: {exc}")
            return exc.exit_code

    first_failure = 0
    cancel = threading.Event()
    progress = _progress_bar(err, quiet)
    claimed: dict[tuple[Path, str], Path] = {}
    with progress, _interrupt_cancels(cancel):
        for path in files:
            # a.mp4 and a.mov into one folder would both write a.md: keep the first.
            key = ((Path(out) if out is not None else path.parent).resolve(), path.stem)
            if key in claimed and claimed[key] != path:
                clash = OutputNotWritable(
                    f"its outputs would overwrite those of {claimed[key]} (same name); "
                    "transcribe it into another folder with -o",
                    str(path),
                )
                _say(err, f"error: {clash}")
                first_failure = first_failure or clash.exit_code
                continue
            claimed[key] = path
            try:
                written = _one(path, out, formats, engine_options, options, progress, cancel)
            except (KeyboardInterrupt, Cancelled):  # Cancelled: Ctrl-C, seen by the pipeline
                cancel.set()
                _say(err, f"error: {path}: cancelled")
                return 130
            except NoSpeechFound as exc:
                _say(err, f"warning: {exc}")
                first_failure = first_failure or exc.exit_code
                continue
            except EngineError as exc:
                _say(err, f"error: {exc}")
                first_failure = first_failure or exc.exit_code
                continue
            except Exception as exc:  # noqa: BLE001 - a bug: one line, no traceback
                if os.environ.get("REELSCRIPT_DEBUG"):
                    traceback.print_exc()
                _say(err, f"error: {path}: internal error ({type(exc).__name__}: {exc})")
                first_failure = first_failure or INTERNAL_ERROR
                continue
            if not quiet:
                for target in written:
                    _say(progress.console, f"wrote {target}")
    return first_failure


@contextlib.contextmanager
def _interrupt_cancels(cancel: threading.Event) -> Iterator[None]:
    """Ctrl-C sets ``cancel`` as well as raising KeyboardInterrupt.

    A library can lose the KeyboardInterrupt: PyAV's resampler, interrupted
    while it raises its own "try again" error, ends the loop that catches that
    error and carries on, and the file would be scripted to the end after
    the user stopped it.  The pipeline checks ``cancel`` as it goes (every
    packet it decodes, every piece it recognises), so the stop still holds.
    """

    def interrupted(_signum: int, _frame: object) -> None:
        cancel.set()
        raise KeyboardInterrupt

    with sigint_handled_by(interrupted):
        yield


def _engine_options(options: dict[str, Any]) -> Options:
    language = options.get("language")
    return Options(
        language=None if language in (None, "", "auto") else str(language),
        model=options.get("model") or None,
        speakers=options.get("speakers"),
        min_speakers=options.get("min_speakers"),
        max_speakers=options.get("max_speakers"),
        diarizer=str(options.get("diarizer") or "builtin"),
        max_bytes=int(options.get("max_size_mb") or 500) * 1024 * 1024,
        device=str(options.get("device") or "auto"),
        task="translate" if options.get("translate") else "transcribe",
    )


def _check_options(options: Options) -> None:
    from tui.engine.diarize import check_counts
    from tui.engine.transcribe import check_language

    if options.diarizer != "none":
        check_counts(options.speakers, options.min_speakers, options.max_speakers)
    check_language(options.model, options.language, options.device, options.task)


def check_writable(folder: Path) -> None:
    """Make ``folder`` if needed and prove a file can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputNotWritable(
            f"output folder cannot be written ({reason})", str(folder)
        ) from None


def _one(
    path: Path,
    out: Path | None,
    formats: Sequence[str],
    engine_options: Options,
    options: dict[str, Any],
    progress: Progress,
    cancel: threading.Event,
) -> list[Path]:
    task = progress.add_task(path.name, total=1.0, stage="probing")

    def report(stage: str, fraction: float, eta: float | None) -> None:
        progress.update(task, completed=overall_fraction(stage, fraction), stage=stage)

    try:
        folder = Path(out) if out is not None else path.parent
        if out is None and path.is_file():  # fail before the work, not after it
            check_writable(folder)
        script = transcribe_file(path, engine_options, progress=report, cancel=cancel)
        if cancel.is_set():  # stopped after the pipeline's last look
            raise Cancelled("cancelled", str(path))
        if options.get("book") is not None and script.speaker_matches:
            options["book"].heard(sorted({m["voice"] for m in script.speaker_matches.values()}))
        progress.update(task, stage="writing")
        written = _write_all(
            script, formats, folder, path, options, _rendering(progress, task), cancel
        )
    finally:
        progress.remove_task(task)
    if not script.turns:
        raise NoSpeechFound(
            f"no speech was found; wrote {', '.join(str(p) for p in written)} saying so",
            str(path),
        )
    return written


def _write_all(
    script: Script,
    formats: Sequence[str],
    folder: Path,
    source: Path,
    options: dict[str, Any],
    progress: Callable[[float, float | None], None],
    cancel: threading.Event,
) -> list[Path]:
    written = []
    for fmt in formats:
        video: dict[str, Any] = {}
        if fmt == "captioned":
            resolution = FRAMES[str(options.get("frame") or "16:9")]
            video = {"resolution": resolution, "fit": options.get("fit") or "blur"}
            video["progress"], video["cancel"] = progress, cancel
            note = captioned.picture_note(source)
            if note and not options.get("quiet"):
                Console(stderr=True, highlight=False).print(f"note: {note}", markup=False)
        timestamps = bool(options.get("timestamps", True))
        written.append(
            write(script, fmt, folder, source_media=source, timestamps=timestamps, **video)
        )
    return written


def _rendering(progress: Progress, task: Any) -> Callable[[float, float | None], None]:
    """The captioned render's progress, on the file's bar."""

    def report(fraction: float, eta: float | None) -> None:
        progress.update(task, completed=fraction, stage="captions")

    return report


def _progress_bar(console: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        TextColumn("[cyan]{task.fields[stage]:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


__all__ = ["check_writable", "run"]

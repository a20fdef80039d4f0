"""Helpers every writer shares: atomic writes and time formatting."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tui.datadir import OUTPUT_MODE  # mkstemp makes 0600 files; outputs get the usual mode
from tui.engine.errors import OutputNotWritable
from tui.engine.script import Script


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path next to ``target``; rename it onto ``target`` if the block succeeds.

    The temp file keeps ``target``'s extension (muxers choose the container by
    it) and is removed whatever goes wrong, so no half-written file is left.
    """
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}.", suffix=target.suffix)
    except OSError as exc:
        raise OutputNotWritable(
            f"cannot write to the folder ({exc.strerror or exc})", str(folder)
        ) from None
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, OUTPUT_MODE)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputNotWritable(f"cannot write ({exc.strerror or exc})", str(target)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def title(script: Script) -> str:
    return Path(script.source).stem if script.source else "Script"


def language_line(script: Script) -> str:
    """The script's language for a header: "Spanish (es)", "English (translated from French)"."""
    from tui.engine.languages import name

    if not script.turns:
        return "none (no speech)"  # nothing was heard to tell the language by
    if script.translated_from:
        return f"{name(script.language)} (translated from {name(script.translated_from)})"
    spoken = script.languages or [script.language]
    return ", ".join(f"{name(code)} ({code})" for code in spoken)


def spoken_label(script: Script) -> str:
    """Short words for the language(s): "in Spanish", "in Spanish and French", "from French"."""
    from tui.engine.languages import name

    if script.translated_from:
        return f"from {name(script.translated_from)}"
    return "in " + " and ".join(name(code) for code in script.languages or [script.language])


def speaker_list(script: Script) -> str:
    names = [script.speaker_name(s) for s in script.speaker_order()]
    return ", ".join(names) if names else "none"


NO_SPEECH = "No speech was found in this file."

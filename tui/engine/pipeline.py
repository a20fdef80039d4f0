"""One call from a media file to a Script: probe -> decode -> VAD -> ASR -> diarize -> script.

This is the engine's public entry point; the CLI, the backend's worker and the
benchmarks all call :func:`transcribe_file`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.engine.script import Script

#: Stages, in order, as named in shared/API.md's progress events.
STAGES = ("probing", "decoding", "vad", "transcribing", "diarizing", "writing")

#: progress(stage, fraction 0..1 within the stage, eta_s for the whole job or None)
ProgressCallback = Callable[[str, float, "float | None"], None]


@dataclass
class Options:
    """What the user can ask of one transcription."""

    language: str | None = None  # None / "auto": detect when the model is multilingual
    model: str | None = None  # None: bundled tiny.en; else a faster-whisper name or a folder
    speakers: int | None = None  # exact count, None to estimate
    min_speakers: int | None = None
    max_speakers: int | None = None
    diarizer: str = "builtin"  # or "pyannote" where the user has it, or "none"
    max_bytes: int = 500 * 1024 * 1024
    device: str = "auto"  # "cpu", "cuda", "auto"


def transcribe_file(
    path: str | Path,
    options: Options | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Script:
    """Turn one media file into a speaker-labelled :class:`Script`.

    Raises a subclass of :class:`tui.engine.errors.EngineError` for bad input
    (missing, empty, undecodable, no audio, too large), and
    :class:`tui.engine.errors.Cancelled` when ``cancel`` is set.  A file with
    only silence gives a script with no turns.
    """
    raise NotImplementedError  # implemented by the engine work (issue 2)

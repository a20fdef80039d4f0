"""One call from a media file to a Script: probe -> decode -> VAD -> ASR -> diarize -> script.

This is the engine's public entry point; the CLI, the backend's worker and the
benchmarks all call :func:`transcribe_file`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui.engine import media, memory, transcribe
from tui.engine.diarize import DiarizationResult
from tui.engine.errors import Cancelled, NoAudioStream
from tui.engine.script import Script, Word, build_turns, default_speaker_name, speaker_id

#: Stages, in order, as named in docs/api.md's progress events.
STAGES = ("probing", "decoding", "vad", "transcribing", "diarizing", "writing")

#: progress(stage, fraction 0..1 within the stage, eta_s for the whole job or None)
ProgressCallback = Callable[[str, float, "float | None"], None]

# Rough share of the whole job's time each stage takes (measured on tiny.en,
# 2 cores); only used to turn stage fractions into an overall ETA.
_WEIGHTS = {
    "probing": 0.01,
    "decoding": 0.08,
    "vad": 0.06,
    "transcribing": 0.6,
    "diarizing": 0.23,
    "writing": 0.02,
}


@dataclass
class Options:
    """What the user can ask of one transcription."""

    language: str | None = None  # None / "auto": detect when the model is multilingual
    model: str | None = None  # None: the default (models.DEFAULT_MODEL); a name or a folder
    speakers: int | None = None  # exact count, None to estimate
    min_speakers: int | None = None
    max_speakers: int | None = None
    diarizer: str = (
        "builtin"  # or "pyannote" where the user has it, or "none" ("campplus": builtin)
    )
    max_bytes: int = 500 * 1024 * 1024
    device: str = "auto"  # "cpu", "cuda", "auto"
    # "transcribe" (write down what is said) or "translate" (into English; needs a
    # multilingual model, refused up front with CannotTranslate otherwise).
    task: str = "transcribe"
    # Remembered voices (tui.engine.voices.Profile) to name speakers by; None: do not
    # look (no prints made), [] : make the prints (Script.voiceprints) but name nobody.
    voices: list | None = None


def overall_fraction(stage: str, fraction: float) -> float:
    """How far the whole job is (0..1) when ``stage`` is ``fraction`` done."""
    done = sum(_WEIGHTS[s] for s in STAGES[: STAGES.index(stage)])
    return done + _WEIGHTS[stage] * max(0.0, min(1.0, fraction))


class _Progress:
    """Turns per-stage fractions into callbacks with an ETA for the whole job."""

    def __init__(self, callback: ProgressCallback | None, cancel: threading.Event | None) -> None:
        self.callback = callback
        self.cancel = cancel
        self.started = time.monotonic()

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")

    def __call__(self, stage: str, fraction: float) -> None:
        self.check()
        if self.callback is None:
            return
        done = overall_fraction(stage, fraction)
        elapsed = time.monotonic() - self.started
        eta = elapsed * (1 - done) / done if done > 0.05 and elapsed > 0.5 else None
        self.callback(stage, max(0.0, min(1.0, fraction)), eta)

    def stage(self, stage: str) -> Callable[[float], None]:
        return lambda fraction: self(stage, fraction)


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
    options = options or Options()
    report = _Progress(progress, cancel)
    report("probing", 0.0)
    info = media.probe(path, options.max_bytes)
    if not info.has_audio:
        what = "is a still image" if info.is_still else "has no audio stream"
        raise NoAudioStream(f"{what}, so there is nothing to transcribe", str(path))
    _check_options(options)
    report("probing", 1.0)

    audio = media.decode_audio(
        path, progress=report.stage("decoding"), cancel=cancel, max_bytes=options.max_bytes
    )
    duration_ms = max(info.duration_ms, audio.size * 1000 // media.SAMPLE_RATE)
    memory.release_freed()  # the decoder's and resampler's buffers

    report("vad", 0.0)
    speech = transcribe.speech_regions(audio)
    report("vad", 1.0)

    early = _early_labels(audio, options)
    try:
        report("transcribing", 0.0)
        recognition = transcribe.recognise(
            audio,
            speech,
            model=options.model,
            language=options.language,
            device=options.device,
            task=options.task,
            progress=report.stage("transcribing"),
            cancel=cancel,
        )
        report("transcribing", 1.0)

        report("diarizing", 0.0)
        if early is not None:
            result = early.result(recognition.words, cancel)
        else:
            result = _speaker_labels(audio, recognition.words, speech, options, report)
        report("diarizing", 1.0)
    finally:
        if early is not None:
            early.close()  # a cancelled or failed run leaves no labeller running

    report("writing", 0.0)
    words = transcribe.snap_to_speech(recognition.words, speech)
    script = build_script(words, result.word_speakers)
    script.segments = [(g.start_ms, g.end_ms, speaker_id(g.speaker)) for g in result.segments]
    script.overlaps = list(result.overlaps)
    script.language = recognition.language
    script.languages = recognition.languages
    script.translated_from = recognition.translated_from
    _mark_turn_languages(script, recognition.spans)
    script.model = recognition.model
    script.source = info.name
    script.duration_ms = duration_ms
    script.speech = list(speech)
    if options.voices is not None and options.diarizer != "none":
        from tui.engine.voices import label

        script.voiceprints = label(script, audio, options.voices)
    report("writing", 1.0)
    return script


def _mark_turn_languages(script: Script, spans: list[tuple[int, int, str]]) -> None:
    """Where a file speaks several languages, cut turns where it changes and say each one's."""
    if len({lang for _, _, lang in spans}) < 2:
        return

    def language_at(ms: int) -> str:
        return next((lang for _, end, lang in spans if ms < end), spans[-1][2])

    turns = []
    for turn in script.turns:
        pieces: list[list[Word]] = []
        for word in turn.words:
            if not pieces or language_at(word.s) != language_at(pieces[-1][-1].s):
                pieces.append([])
            pieces[-1].append(word)
        for piece in pieces or [[]]:
            for part in build_turns(piece, [turn.speaker] * len(piece)) if piece else [turn]:
                part.language = language_at(part.start_ms)
                turns.append(part)
    script.turns = turns


def _check_options(options: Options) -> None:
    """Refuse a bad model, language or speaker count now, not after minutes of work."""
    transcribe.check_language(options.model, options.language, options.device, options.task)
    if options.diarizer != "none":
        from tui.engine.diarize import check_counts

        check_counts(options.speakers, options.min_speakers, options.max_speakers)


def _speaker_labels(
    audio: np.ndarray,
    words: list[Word],
    speech: list[tuple[int, int]],
    options: Options,
    report: _Progress,
) -> DiarizationResult:
    """Who speaks when, and one 0-based speaker index per word.

    Speech without words is labelled too (it goes into the script's
    ``segments``); a file with no speech at all is not labelled.
    """
    if not speech and not words:
        return DiarizationResult(word_speakers=[], segments=[])
    if options.diarizer == "none" or options.speakers == 1:
        from tui.engine.diarize import SingleSpeaker

        return SingleSpeaker().diarize(audio, words, speech=speech or None)
    from tui.engine.diarize import get_diarizer

    return get_diarizer(options.diarizer).diarize(
        audio,
        words,
        speech=speech or None,
        num_speakers=options.speakers,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
        progress=report.stage("diarizing"),
    )


#: torch threads the labeller uses while recognition runs beside it.  Recognition
#: already has a thread per core; torch's and CTranslate2's OpenMP pools each
#: spin while they wait, so a second multi-threaded pool beside it burnt about
#: 3 times the labeller's CPU time in waiting (docs/speakers.md, speed).
LABEL_THREADS = 1


class _EarlyLabels:
    """The built-in labeller running in a thread beside recognition (it needs no words).

    Recognition does not keep both cores busy all the time; the labeller
    takes what is left, on LABEL_THREADS torch threads.  Its errors are
    raised where the result is asked for.
    """

    def __init__(self, audio: np.ndarray, options: Options) -> None:
        from tui.engine.builtin_diarizer import BuiltinDiarizer

        self.labelling = None
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.args = (options.speakers, options.min_speakers, options.max_speakers)
        self.thread = threading.Thread(
            target=self._run, args=(BuiltinDiarizer(), audio), daemon=True, name="speaker-labels"
        )
        self.thread.start()

    def _run(self, diarizer: object, audio: np.ndarray) -> None:
        try:
            with _torch_threads(LABEL_THREADS):
                self.labelling = diarizer.labels(  # type: ignore[attr-defined]
                    audio, *self.args, progress=self._check
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
            self.error = exc

    def _check(self, _fraction: float) -> None:
        """The labeller's progress: the point where a stopped run ends."""
        if self.stop.is_set():
            raise Cancelled("cancelled")

    def close(self) -> None:
        """Stop the labeller at its next step and wait for it (never left running in
        torch while the process exits, which aborts it)."""
        self.stop.set()
        self.thread.join()

    def result(self, words: list[Word], cancel: threading.Event | None) -> DiarizationResult:
        while self.thread.is_alive():
            self.thread.join(0.2)
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
        if self.error is not None:
            raise self.error
        assert self.labelling is not None
        return self.labelling.with_words(words)


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` for the block, then put back."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(min(n, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _early_labels(audio: np.ndarray, options: Options) -> _EarlyLabels | None:
    """Start the built-in labeller now, when it is the one asked for and has work to do."""
    if (options.diarizer or "builtin").strip().lower() not in ("builtin", "campplus"):
        return None
    if options.speakers == 1:
        return None
    return _EarlyLabels(audio, options)


def build_script(words: list[Word], labels: list[int]) -> Script:
    """Words + speaker indices -> a Script, speakers numbered by first appearance."""
    order: dict[int, str] = {}
    for label in labels:
        if label not in order:
            order[label] = speaker_id(len(order))
    ids = [order[label] for label in labels]
    script = Script(turns=build_turns(words, ids))
    script.speakers = {sid: default_speaker_name(sid) for sid in order.values()}
    return script

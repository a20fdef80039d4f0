"""The real-speech fixtures' names, and scoring against their turns: DER, mapping, words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from tui.engine.diarize import DiarizationResult
from tui.engine.script import Word

Turns = Sequence[tuple[int, int, str]]

DATA = Path(__file__).resolve().parent.parent / "data"
#: The real-speech fixtures (see tests/data/conv_fixtures.py): real voices,
#: each from its own council meeting, glued into conversations.
NAMES = ("conv_2spk_short", "conv_3spk_mixed", "conv_3spk_quiet", "conv_4spk_phone")
#: The same-room fixtures (see tests/data/room_README.md): real voices through one
#: simulated room, microphone and noise floor, with interjections and overlapping
#: backchannels (``events`` in their JSON).
ROOMS = ("room_1spk", "room_2spk_backchannel", "room_3spk_phone")


@dataclass
class Conv:
    """One fixture conversation: audio, reference turns, ASR words, VAD speech."""

    name: str
    audio: np.ndarray
    turns: list[tuple[int, int, str]]
    speakers: list[str]
    truth: dict
    words: list[Word]
    speech: list[tuple[int, int]]


def der(turns: Turns, result: DiarizationResult) -> float:
    """Diarization error rate: pyannote.metrics, collar 0.25 s, overlap skipped."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for s, e, who in turns:
        ref[Segment(s / 1000, e / 1000)] = who
    for g in result.segments:
        hyp[Segment(g.start_ms / 1000, g.end_ms / 1000)] = f"S{g.speaker}"
    return float(DiarizationErrorRate(collar=0.25, skip_overlap=True)(ref, hyp))


def mapping(turns: Turns, result: DiarizationResult) -> dict[str, int]:
    """Reference speaker -> found speaker, the one-to-one map with most shared time."""
    names = sorted({w for _, _, w in turns})
    k = max([g.speaker for g in result.segments], default=0) + 1
    shared = np.zeros((len(names), k))
    for s, e, who in turns:
        for g in result.segments:
            shared[names.index(who), g.speaker] += max(0, min(e, g.end_ms) - max(s, g.start_ms))
    rows, cols = linear_sum_assignment(-shared)
    return {names[r]: int(c) for r, c in zip(rows, cols, strict=True)}


def speaker_share(result: DiarizationResult, start: int, end: int, speaker: int) -> float:
    """The share of [start, end) that the result gives to ``speaker``."""
    inside = sum(
        max(0, min(end, g.end_ms) - max(start, g.start_ms))
        for g in result.segments
        if g.speaker == speaker
    )
    return inside / max(1, end - start)


def word_accuracy(turns: Turns, words: Sequence[Word], result: DiarizationResult) -> float:
    """Share of words lying within one reference turn that got that turn's speaker."""
    to_found = mapping(turns, result)
    right = total = 0
    for word, label in zip(words, result.word_speakers, strict=True):
        mid = (word.s + word.e) / 2
        owners = {who for s, e, who in turns if s <= mid < e}
        if len(owners) != 1:
            continue  # in a gap or an overlap: no single right answer
        total += 1
        right += to_found.get(owners.pop(), -1) == label
    return right / max(1, total)

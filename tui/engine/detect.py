"""Spoken-language detection, piece by piece, on speech only.

Detection listens to the speech regions VAD found (never to leading music or
silence): consecutive regions are taken in windows of up to WINDOW_MS of
speech and Whisper's language head names each window's language.  Where two
neighbouring windows disagree (a file that switches language), the regions of
those windows are detected one by one, so the switch is found at the region
where it happens rather than at a window edge.  Short or uncertain regions
take the language of the speech around them.  The result is a list of runs of
consecutive regions, each with one language, that recognition reads in turn.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.engine.errors import Cancelled

SAMPLE_RATE = 16000
#: Speech per detection window (Whisper's language head reads 30 s at most).
WINDOW_MS = 30_000
#: Regions shorter than this are not detected on their own (too little to tell).
MIN_REGION_MS = 2_500
#: Below this probability a region's own guess yields to its neighbours' language.
MIN_PROBABILITY = 0.6

Region = tuple[int, int]


@dataclass
class Run:
    """Consecutive speech regions in one language."""

    regions: list[Region]
    language: str
    probability: float


def language_runs(
    whisper: Any,
    audio: np.ndarray,
    regions: list[Region],
    cancel: threading.Event | None = None,
) -> list[Run]:
    """Split ``regions`` (ms, in order) into runs of one detected language each."""
    if not regions:
        return []
    windows = _windows(regions)
    found = [_detect(whisper, audio, w, cancel) for w in windows]
    labels: list[tuple[Region, str, float]] = []
    for i, window in enumerate(windows):
        language, prob = found[i]
        switch = any(0 <= j < len(found) and found[j][0] != language for j in (i - 1, i + 1))
        if switch and len(window) > 1:
            for region in window:
                if region[1] - region[0] >= MIN_REGION_MS:
                    labels.append((region, *_detect(whisper, audio, [region], cancel)))
                else:
                    labels.append((region, language, 0.0))  # decided by its neighbours
        else:
            labels.extend((region, language, prob) for region in window)
    return _merge(_smooth(labels))


def _windows(regions: list[Region]) -> list[list[Region]]:
    windows: list[list[Region]] = [[]]
    size = 0
    for s, e in regions:
        if windows[-1] and size + (e - s) > WINDOW_MS:
            windows.append([])
            size = 0
        windows[-1].append((s, e))
        size += e - s
    return windows


def _detect(
    whisper: Any, audio: np.ndarray, regions: list[Region], cancel: threading.Event | None
) -> tuple[str, float]:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
    pieces = [audio[s * SAMPLE_RATE // 1000 : e * SAMPLE_RATE // 1000] for s, e in regions]
    speech = np.concatenate(pieces)[: WINDOW_MS * SAMPLE_RATE // 1000]
    language, probability, _ = whisper.detect_language(audio=speech)
    return str(language), float(probability)


def _smooth(labels: list[tuple[Region, str, float]]) -> list[tuple[Region, str, float]]:
    """Uncertain regions take the language of the nearest certain one (earlier first)."""
    certain = [i for i, (_, _, p) in enumerate(labels) if p >= MIN_PROBABILITY]
    if not certain:
        return labels
    out = []
    for i, (region, language, prob) in enumerate(labels):
        if prob < MIN_PROBABILITY:
            nearest = min(certain, key=lambda j: (abs(j - i), j > i))
            language = labels[nearest][1]
        out.append((region, language, prob))
    return out


def _merge(labels: list[tuple[Region, str, float]]) -> list[Run]:
    runs: list[Run] = []
    for region, language, prob in labels:
        if runs and runs[-1].language == language:
            runs[-1].regions.append(region)
            runs[-1].probability = max(runs[-1].probability, prob)
        else:
            runs.append(Run([region], language, prob))
    return runs

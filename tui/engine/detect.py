"""Spoken-language detection, piece by piece, on speech only.

Detection listens to the speech regions VAD found (never to leading music or
silence): consecutive regions are taken in windows of up to a minute of
speech and Whisper's language head names each window's language from its
first 30 s.  Where two
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
#: Speech per detection window: one detection (of its first LISTEN_MS) per minute of
#: speech keeps the cost of a separate detecting model small; switches are refined.
DETECT_WINDOW_MS = 60_000
#: Speech Whisper reads at once (its language head and its decoder read 30 s at most).
WINDOW_MS = 30_000
LISTEN_MS = 30_000
#: Regions shorter than this are not detected on their own (too little to tell).
MIN_REGION_MS = 2_500
#: Below this probability a guess yields to its neighbours' language.
MIN_PROBABILITY = 0.6
#: A region heard alone (a few seconds) must be this sure to count.
MIN_OWN_PROBABILITY = 0.8

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
    pieces = windows(regions, DETECT_WINDOW_MS)
    # The last window has no next one to disagree with: it is heard whole.
    pieces[-1:] = windows(pieces[-1], LISTEN_MS)
    return settle(
        whisper, audio, pieces, [_detect(whisper, audio, w, cancel)[:2] for w in pieces], cancel
    )


def settle(
    whisper: Any,
    audio: np.ndarray,
    pieces: list[list[Region]],
    found: list[tuple[str, float]],
    cancel: threading.Event | None = None,
) -> list[Run]:
    """Runs of one language from each window's ``(language, probability)``.

    Where two neighbouring windows disagree the regions at their edge are
    listened to one by one; uncertain regions then follow their neighbours.
    """
    labels = [[(r, lang, prob) for r in w] for w, (lang, prob) in zip(pieces, found, strict=True)]
    heard: dict[Region, dict[str, float]] = {}  # each language's chance, where heard alone
    for i in range(1, len(pieces)):
        if found[i][0] != found[i - 1][0]:
            # A switch: listen region by region, from the edge between the two
            # windows outwards, until each side sounds like its own window again.
            before, after = labels[i - 1], labels[i]
            back = range(len(before) - 1, -1, -1)
            _refine(whisper, audio, before, back, found[i - 1][0], heard, cancel)
            _refine(whisper, audio, after, range(len(after)), found[i][0], heard, cancel)
    return _merge(_smooth([label for window in labels for label in window], heard))


def _refine(
    whisper: Any,
    audio: np.ndarray,
    labels: list[tuple[Region, str, float]],
    order: range,
    own: str,
    heard: dict[Region, dict[str, float]],
    cancel: threading.Event | None,
) -> None:
    """Detect ``labels``' regions one by one, in ``order``, until one sounds ``own``."""
    for k in order:
        region = labels[k][0]
        if region[1] - region[0] < MIN_REGION_MS:
            labels[k] = (region, own, 0.0)  # too short to tell: its neighbours decide
            continue
        language, prob, heard[region] = _detect(whisper, audio, [region], cancel)
        labels[k] = (region, language, prob if prob >= MIN_OWN_PROBABILITY else 0.0)
        if language == own and prob >= MIN_OWN_PROBABILITY:
            break


def windows(regions: list[Region], size_ms: int = WINDOW_MS) -> list[list[Region]]:
    """Consecutive regions in windows of up to ``size_ms`` of speech."""
    windows: list[list[Region]] = [[]]
    size = 0
    for s, e in regions:
        if windows[-1] and size + (e - s) > size_ms:
            windows.append([])
            size = 0
        windows[-1].append((s, e))
        size += e - s
    return windows


def _detect(
    whisper: Any, audio: np.ndarray, regions: list[Region], cancel: threading.Event | None
) -> tuple[str, float, dict[str, float]]:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
    pieces = [audio[s * SAMPLE_RATE // 1000 : e * SAMPLE_RATE // 1000] for s, e in regions]
    speech = np.concatenate(pieces)[: LISTEN_MS * SAMPLE_RATE // 1000]
    language, probability, every = whisper.detect_language(audio=speech)
    return str(language), float(probability), {str(k): float(v) for k, v in every}


def _smooth(
    labels: list[tuple[Region, str, float]], heard: dict[Region, dict[str, float]]
) -> list[tuple[Region, str, float]]:
    """Uncertain regions take the language of a certain neighbour.

    Between two neighbours of different languages, the one this region itself
    sounded more like (where it was heard alone) wins, else the nearer one.
    """
    certain = [i for i, (_, _, p) in enumerate(labels) if p >= MIN_PROBABILITY]
    if not certain:
        return labels
    out = []
    for i, (region, language, prob) in enumerate(labels):
        if prob < MIN_PROBABILITY:
            sides = [j for j in certain if j < i][-1:] + [j for j in certain if j > i][:1]
            chance = heard.get(region, {})
            nearest = min(sides, key=lambda j: (-chance.get(labels[j][1], 0.0), abs(j - i), j > i))
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

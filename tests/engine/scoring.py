"""Scoring against the known truth of a fixture: word error rate and diarization error rate.

The truth comes from ``tests/data/<name>.truth.json`` (made by make_fixtures.py):
the real words and every turn's speaker and times.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jiwer
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from tui.engine.script import Script

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def truth_of(media: Path) -> dict[str, Any]:
    return json.loads(media.with_name(media.stem + ".truth.json").read_text())


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number_words(rest))
    return str(n)


def normalise(text: str) -> str:
    """Lower case, numbers as words, no punctuation: what WER should compare."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"\d+", lambda m: " " + _number_words(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = ["mister" if w == "mr" else "okay" if w == "ok" else w for w in text.split()]
    return " ".join(words)


def wer(script: Script, truth: dict[str, Any]) -> float:
    reference = normalise(" ".join(t["text"] for t in truth["turns"]))
    hypothesis = normalise(" ".join(t.text for t in script.turns))
    return float(jiwer.wer(reference, hypothesis))


def der(script: Script, truth: dict[str, Any], collar_s: float = 0.25) -> float:
    """Diarization error rate (pyannote.metrics), the script's turns against the true turns."""
    reference = Annotation()
    for t in truth["turns"]:
        reference[Segment(t["start_ms"] / 1000, t["end_ms"] / 1000)] = t["speaker"]
    hypothesis = Annotation()
    for turn in script.turns:
        for span in _spans(turn.words):
            hypothesis[Segment(*span)] = turn.speaker
    metric = DiarizationErrorRate(collar=collar_s, skip_overlap=False)
    return float(metric(reference, hypothesis))


def _spans(words: list) -> list[tuple[float, float]]:
    """Word runs of a turn as speech spans (a pause over 0.5 s is not speech)."""
    spans: list[list[float]] = []
    for w in words:
        s, e = w.s / 1000, w.e / 1000
        if spans and s - spans[-1][1] <= 0.5:
            spans[-1][1] = max(spans[-1][1], e)
        else:
            spans.append([s, e])
    return [(a, b) for a, b in spans if b > a]

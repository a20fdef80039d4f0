"""Real council-member voices (tests/data/conv_*) cut by their reference turns."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from tui.engine import media
from tui.engine.script import Script, Turn, Word

DATA = Path(__file__).resolve().parent.parent / "data"


def reference(name: str) -> tuple[np.ndarray, Script]:
    """A fixture's audio and a script of its reference turns (one word per turn)."""
    audio = media.decode_audio(DATA / f"{name}.webm")
    truth = json.loads((DATA / f"{name}.json").read_text())
    ids = {person: f"S{i + 1}" for i, person in enumerate(truth["speakers"])}
    turns = [
        Turn(ids[t["speaker"]], t["start_ms"], t["end_ms"], t["speaker"],
             [Word(t["speaker"], t["start_ms"], t["end_ms"])])
        for t in truth["turns"]
    ]  # fmt: skip
    script = Script(turns=turns, speakers={sid: f"Speaker {sid[1:]}" for sid in ids.values()})
    script.people = {sid: person for person, sid in ids.items()}  # type: ignore[attr-defined]
    return audio, script


def clip_of(name: str, person: str, path: Path) -> Path:
    """A WAV of ``person``'s turns in fixture ``name``, played one after another."""
    audio, script = reference(name)
    sid = next(s for s, p in script.people.items() if p == person)  # type: ignore[attr-defined]
    pieces = [audio[t.start_ms * 16 : t.end_ms * 16] for t in script.turns if t.speaker == sid]
    samples = (np.clip(np.concatenate(pieces), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="session")
def pedersen_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip_of("conv_2spk_short", "pedersen", tmp_path_factory.mktemp("voices") / "p.wav")

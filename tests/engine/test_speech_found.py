"""The speech the recogniser hears: what the VAD finds covers what was said.

Speech the VAD misses is never recognised, so its words are lost from the
script however good the recogniser is.  Checked on every speaker-labelling
fixture (real voices; tests/data/conv_*, room_*) against its reference turns,
among them two minutes of a two-person phone call (room_2spk_call), where
faster-whisper's bundled Silero model stopped hearing speech after the first
minute (69 % of the call's speech found, none of its last minute).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.diarize.scoring import DATA, NAMES, ROOMS
from tui.engine.media import decode_audio
from tui.engine.transcribe import speech_regions

#: At least this share of the reference speech is found ...
MIN_FOUND = 0.90
#: ... and found speech outside it is at most this share of it.
MAX_EXTRA = 0.10
FRAME_MS = 10


def _mask(spans: list[tuple[int, int]], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for start, end in spans:
        mask[start // FRAME_MS : end // FRAME_MS] = True
    return mask


@pytest.mark.parametrize("name", NAMES + ROOMS + ("room_2spk_call",))
def test_the_speech_of_every_fixture_is_found(name: str) -> None:
    truth = json.loads((DATA / f"{name}.json").read_text())
    audio = decode_audio(DATA / f"{name}.webm")
    n = len(audio) * 1000 // 16000 // FRAME_MS + 1
    said = _mask([(t["start_ms"], t["end_ms"]) for t in truth["turns"]], n)
    found = _mask(speech_regions(audio), n)
    assert (found & said).sum() >= MIN_FOUND * said.sum(), (
        f"{name}: {100 * (found & said).sum() / said.sum():.1f} % of the speech found"
    )
    assert (found & ~said).sum() <= MAX_EXTRA * said.sum()
    # Throughout the recording, not only at its start.
    quarters = np.array_split(np.arange(n), 4)
    for q in quarters:
        if said[q].sum() > 100:  # a quarter with over a second of speech
            assert (found[q] & said[q]).sum() >= 0.5 * said[q].sum(), name

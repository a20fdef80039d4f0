"""Speech the recogniser wrote nothing for is read again; reading is repeatable.

Whisper can end a 30 s window early (its last timestamp says nothing follows),
and faster-whisper then skips the rest of the window: whole sentences lost
from the script.  ``transcribe.unwritten`` finds the speech no word touches;
the recogniser reads it again on its own.

Where Whisper falls back to sampling, each piece samples from a generator
that starts at the seed (``models.FreshSampling``), so a file's words do not
depend on what the process read before it.
"""

from __future__ import annotations

import ctranslate2
import numpy as np

from tests.engine.conftest import DATA
from tui.engine.media import decode_audio
from tui.engine.models import afresh
from tui.engine.script import Word
from tui.engine.transcribe import (
    ASR_PAD_MS,
    REREAD_MIN_MS,
    SEED,
    load_model,
    recognise,
    speech_regions,
    unwritten,
)


def _words(*spans: tuple[int, int]) -> list[Word]:
    return [Word(f"w{n}", s, e, 0.9) for n, (s, e) in enumerate(spans)]


def test_speech_after_the_last_word_is_read_again_without_its_words() -> None:
    words = _words((1000, 1400), (1500, 2000))
    speech = [(900, 2100), (3000, 5000), (5600, 7000)]
    runs = unwritten(words, speech)
    assert len(runs) == 1
    (run,) = runs
    # Padded as the recogniser's regions are, the two untouched regions joined,
    # and never back into the last written word.
    assert run == [(3000 - ASR_PAD_MS, 7000 + ASR_PAD_MS)]


def test_a_gap_between_written_words_is_read_again_within_its_neighbours() -> None:
    words = _words((0, 500), (5200, 5500))
    speech = [(0, 600), (700, 4900), (5100, 5600)]
    # The middle region is farther than REREAD_TOUCH_MS from every word, so it
    # is unwritten; its padding stops at the words on either side.
    assert unwritten(words, speech) == [[(500, 5200)]]


def test_speech_a_word_touches_is_not_read_again() -> None:
    words = _words((1000, 1300))
    # A word inside, a word just before (within the touch), and a word just after.
    assert unwritten(words, [(900, 3000)]) == []
    assert unwritten(words, [(1450, 3000)]) == []
    assert unwritten(_words((3100, 3300)), [(1000, 3000)]) == []


def test_short_unwritten_speech_is_left_alone() -> None:
    words = _words((0, 500))
    assert unwritten(words, [(0, 500), (2000, 2000 + REREAD_MIN_MS - 1)]) == []
    assert unwritten(words, [(0, 500), (2000, 2000 + REREAD_MIN_MS)]) != []


def test_runs_are_cut_by_written_speech() -> None:
    words = _words((3000, 3500))
    speech = [(0, 1500), (3000, 3500), (6000, 8000)]
    runs = unwritten(words, speech)
    assert [[r[0][0], r[-1][1]] for r in runs] == [[0, 1900], [5600, 8400]]


def test_recognition_does_not_hang_on_what_the_process_recognised_before() -> None:
    """The same clip gives the same words however many files the process read first.

    A server, the app and watch recognise file after file in one process; a
    script must not depend on which files came before.  (Whisper's temperature
    fallback samples from a generator that ctranslate2 seeds once per worker
    thread, so its samples differ from one file to the next: on this clip
    that changed the words written.)
    """
    clip = decode_audio(DATA / "lang_es_eval.mkv")  # its prompts repeat a sentence three times
    speech = speech_regions(clip)
    first = recognise(clip, speech, language="es")
    again = recognise(clip, speech, language="es")  # as if after any other file
    assert [(w.w, w.s, w.e) for w in again.words] == [(w.w, w.s, w.e) for w in first.words]


def test_a_sample_after_a_sample_starts_from_the_seed() -> None:
    """Whisper's sampling draws the same tokens each time once the model is made afresh."""
    whisper, _ = load_model("tiny.en")
    clip = decode_audio(DATA / "lang_es_eval.mkv")[: 16000 * 30]
    features = ctranslate2.StorageView.from_array(
        np.ascontiguousarray(whisper.feature_extractor(clip)[None, :, :3000])
    )
    start = whisper.hf_tokenizer.token_to_id("<|startoftranscript|>")
    notimestamps = whisper.hf_tokenizer.token_to_id("<|notimestamps|>")

    def sample() -> list[int]:
        ctranslate2.set_random_seed(SEED)
        afresh(whisper)
        found = whisper.model.generate(
            whisper.model.encode(features),
            [[start, notimestamps]],
            beam_size=1,
            sampling_topk=0,
            sampling_temperature=1.0,
            max_length=40,
        )
        return found[0].sequences_ids[0]

    first = sample()
    assert whisper.model.sampled  # it really drew
    assert sample() == first

"""Speech regions for recognition and speaker labelling, from the silero-vad package's Silero VAD.

The model is the ONNX one of the ``silero-vad`` package (run by onnxruntime),
not the ``silero_vad_v6.onnx`` that faster-whisper 1.2 ships: on the tuning
conversations both keep about the same share of the speech, except over the
phone, where faster-whisper's keeps 14 % of a two-person call and 83 % of a
three-person one against 93 % and 91 % (docs/transcribe.md, "Finding the
speech"), and speech it does not find is never recognised.

The ASR's own VAD settings (2 s minimum silence, 400 ms padding) are made to
keep sentences whole for the recogniser; for *who* speaks we want the short
pauses at turn changes, so this module asks Silero for finer regions.  The
regions are then joined with the ASR words' own spans, so a quiet or
mis-detected word is still placed on the timeline and labelled.

Silero's decisions depend on the level: speech 40 dB below full scale loses
whole stretches (a quiet phone-band call most).  So the audio is first
brought to one level (:func:`level`, the same the speaker labeller uses), and
a recording is split into speech the same at any level.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from tui.engine import memory
from tui.engine.interrupts import sigint_handled_by

SAMPLE_RATE = 16000

#: Silero settings for labelling: split at pauses of 200 ms, keep words of 120 ms.
MIN_SILENCE_MS = 200
MIN_SPEECH_MS = 120
SPEECH_PAD_MS = 40
THRESHOLD = 0.5

#: Silero reads a long recording in pieces of this many seconds, each brought to
#: level as it is read: no leveled copy of a whole hour (230 MB) is ever made.
#: (faster-whisper's VAD, used before, also held several copies of what it was
#: given: an hour took about 900 MB more.)
#: A whole number of Silero's 512-sample frames, so the pieces keep the frame grid.
PIECE_S = 600

#: The level audio is brought to: its 99.9th percentile of |sample|.
TARGET_PEAK = 0.5
#: At most this much gain (60 dB): silence stays silence.
MAX_GAIN = 1000.0


def gain(audio: np.ndarray) -> np.float32:
    """The factor that puts ``audio``'s loud samples (99.9th percentile) at TARGET_PEAK."""
    if len(audio) == 0:
        return np.float32(1.0)
    loud = float(np.percentile(np.abs(audio[:: max(1, len(audio) // 2_000_000)]), 99.9))
    if loud <= 0:
        return np.float32(1.0)
    return np.float32(min(MAX_GAIN, TARGET_PEAK / loud))


def level(audio: np.ndarray) -> np.ndarray:
    """``audio`` scaled so its loud samples (99.9th percentile) sit at TARGET_PEAK."""
    return audio * gain(audio)


def detect_speech(audio: np.ndarray) -> list[tuple[int, int]]:
    """Speech regions (start_ms, end_ms) of 16 kHz mono float32 ``audio``, at any level."""
    if len(audio) < SAMPLE_RATE // 10:
        return []
    import torch

    audio = np.asarray(audio, dtype=np.float32)
    scale = gain(audio)
    # One model per call: it keeps a state from frame to frame (one thread at a time).
    get_speech_timestamps, model = _silero()

    def speech_of(piece: np.ndarray) -> list[dict]:
        return get_speech_timestamps(
            torch.from_numpy(piece),
            model,
            threshold=THRESHOLD,
            sampling_rate=SAMPLE_RATE,
            min_speech_duration_ms=MIN_SPEECH_MS,
            min_silence_duration_ms=MIN_SILENCE_MS,
            speech_pad_ms=SPEECH_PAD_MS,
        )

    regions: list[tuple[int, int]] = []
    size = PIECE_S * SAMPLE_RATE
    near = 2 * SPEECH_PAD_MS
    for first in range(0, len(audio), size):
        piece = audio[first : first + size] * scale
        if len(piece) < SAMPLE_RATE // 10:
            continue
        seam = first * 1000 // SAMPLE_RATE
        for i, c in enumerate(speech_of(piece)):
            start = (first + c["start"]) * 1000 // SAMPLE_RATE
            end = (first + c["end"]) * 1000 // SAMPLE_RATE
            if i == 0 and regions and regions[-1][1] >= seam - near and start <= seam + near:
                regions[-1] = (regions[-1][0], end)  # one region, cut where two pieces meet
            else:
                regions.append((start, end))
    memory.release_freed()  # the model's buffers, the levelled pieces
    return merge_regions(regions)


def _silero() -> tuple[Callable[..., list[dict]], object]:
    """silero-vad's ``get_speech_timestamps`` and a fresh ONNX model.

    The package's import and loader catch every exception with a bare
    ``except:``, Ctrl-C included: an interrupt then is held back and raised
    right after them instead of being lost (:func:`_interrupts_held`).
    """
    with _interrupts_held():
        from silero_vad import get_speech_timestamps, load_silero_vad

        return get_speech_timestamps, load_silero_vad(onnx=True)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C during the block takes effect when the block is done, not inside it.

    The main thread's handler is swapped for one that only notes the signal
    (:func:`tui.engine.interrupts.sigint_handled_by`: blocking SIGINT in this
    thread alone would let it in through the labeller's or the libraries'
    threads), and once the block is done the handler that was there does
    what it does with it.
    """
    noted: list[int] = []
    previous = None
    try:
        with sigint_handled_by(lambda signum, _frame: noted.append(signum)) as previous:
            yield
    finally:  # once that handler is back, and even when the block failed (a broken import)
        if noted:
            # What that handler would have done; not raise_signal(), which signals this
            # thread only, and a thread that blocks SIGINT would never see it.
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def merge_regions(regions: Iterable[tuple[int, int]], gap_ms: int = 0) -> list[tuple[int, int]]:
    """Sorted union of regions; regions closer than ``gap_ms`` are joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in regions if e > s):
        if out and start <= out[-1][1] + gap_ms:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def with_word_spans(
    speech: Sequence[tuple[int, int]], spans: Iterable[tuple[int, int]], duration_ms: int
) -> list[tuple[int, int]]:
    """``speech`` plus the spans of words that lie (partly) outside it, clipped to the file."""
    extra = [
        (max(0, s), min(duration_ms, e)) for s, e in spans if e > s and not _covered(speech, s, e)
    ]
    return merge_regions([*speech, *extra])


def _covered(speech: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """True when at least half of [start, end) lies in ``speech`` (sorted, disjoint)."""
    i = max(0, bisect.bisect_right(speech, (start, 1 << 62)) - 1)
    inside = 0
    while i < len(speech) and speech[i][0] < end:
        inside += max(0, min(speech[i][1], end) - max(speech[i][0], start))
        i += 1
    return inside * 2 >= end - start

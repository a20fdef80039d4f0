"""Voice profiles: a voice named once is named in every later script.

A *profile* is a name, the encoder its embeddings were made with, and a few
centroids (one per recording it was learnt from, at most MAX_CENTROIDS; never
one average that drifts, never audio).  A *print* is one speaker's CAM++
embedding in one file: the length-weighted mean of its windows' embeddings
(:mod:`tui.engine.campplus`), taken over that speaker's turns of a finished
script.

Matching scores every speaker of a new file against every profile (a
profile's score is its best centroid's cosine similarity) and assigns names
by the Hungarian method on those scores, so one name never goes to two
speakers of a file; a pair below THRESHOLD is never assigned, and a speaker
with less than MIN_SPEECH_S of speech is never named.

The threshold follows a written rule (``benchmarks/bench_voices.py``): the
lowest similarity at which different-person pairs (a print of one person
against a profile learnt from another's other recordings) are accepted at
most 1 % of the time, over same-person-different-recording and
different-person pairs.  Applied to all 13 benchmark voices it gives 0.56;
the rates on voices held out of the tuning (4 folds by person) are in
docs/voices.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.engine.script import Script, speaker_spans

SAMPLE_RATE = 16000  # campplus.SAMPLE_RATE (campplus, and so torch, load only to make prints)

#: The encoder every print and centroid is made with; a profile made with
#: another one is not matched (it needs a new sample).
ENCODER = "campplus-zh_en-common-advanced/192"
#: See the module docstring: the rule's similarity on the 13 benchmark voices.
THRESHOLD = 0.56
#: A profile keeps at most this many centroids (one per recording).
MAX_CENTROIDS = 5
#: A speaker with less speech than this has no reliable print.
MIN_SPEECH_S = 2.0
#: Windows of this many 10 ms frames, hopping by half, make a print.
WINDOW_FRAMES = 300
#: Turns shorter than this (frames) are left out of a print.
MIN_TURN_FRAMES = 50
#: A print listens to at most this much of a speaker (the longest turns first):
#: a host who talks for half an hour costs no more than a guest.
MAX_PRINT_S = 30.0


@dataclass
class Centroid:
    """One recording's embedding of a voice."""

    vector: list[float]
    source: str = ""  # what recording it came from (a hash or a name), "" when unknown
    seconds: float = 0.0  # how much speech made it

    def to_dict(self) -> dict[str, Any]:
        return {"vector": [round(float(x), 6) for x in self.vector], "source": self.source,
                "seconds": round(float(self.seconds), 2)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Centroid:
        vector = [float(x) for x in data["vector"]]
        return cls(vector, str(data.get("source") or ""), float(data.get("seconds") or 0.0))


@dataclass
class Profile:
    """A remembered voice."""

    name: str
    encoder: str = ENCODER
    centroids: list[Centroid] = field(default_factory=list)

    def usable(self) -> bool:
        return self.encoder == ENCODER and bool(self.centroids)

    def score(self, vector: np.ndarray) -> float:
        """The best cosine similarity of ``vector`` to one of this profile's centroids."""
        if not self.usable():
            return -1.0
        matrix = np.array([c.vector for c in self.centroids], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-8)
        return float(np.max(matrix @ unit(vector)))


@dataclass
class Print:
    """One speaker's voice in one file."""

    vector: np.ndarray
    seconds: float


def unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-8)


def print_of(
    audio: np.ndarray, spans_ms: list[tuple[int, int]], window_frames: int | None = WINDOW_FRAMES
) -> Print | None:
    """The print of the speech in ``spans_ms`` of ``audio`` (16 kHz mono), None when too little.

    ``window_frames`` None reads each turn in one pass instead of in windows."""
    from tui.engine import campplus

    longest = sorted(spans_ms, key=lambda span: span[0] - span[1])
    spans_ms, total_ms = [], 0
    for start, end in longest:
        if total_ms >= MAX_PRINT_S * 1000:
            break
        end = min(end, start + int(MAX_PRINT_S * 1000) - total_ms)
        spans_ms.append((start, end))
        total_ms += end - start
    batch = []
    weights: list[float] = []
    rate = SAMPLE_RATE
    for start, end in spans_ms:
        piece = audio[max(0, start * rate // 1000) : max(0, end * rate // 1000)]
        frames = len(piece) // 160
        if frames < MIN_TURN_FRAMES:
            continue
        feats = campplus.features(piece)
        n = len(feats)
        size = window_frames or n
        if n <= size:
            windows = [(0, n)]
        else:
            hop = size // 2
            windows = [(a, size) for a in range(0, n - size + 1, hop)]
            if windows[-1][0] + size < n:
                windows.append((n - size, size))
        batch.append((feats, windows))
        weights += [float(count) for _, count in windows]
    seconds = sum(w for w in weights) / 100.0
    if not batch or seconds < MIN_SPEECH_S:
        return None
    vectors = campplus.embed_batch(batch)
    total = sum(len(spans) for _, spans in batch)
    # Overlapping windows count their frames more than once; the length is the speech's own.
    speech_s = sum(max(0, e - s) for s, e in spans_ms) / 1000.0
    mean = (vectors[:total] * np.array(weights)[:, None]).sum(axis=0)
    return Print(unit(mean), min(seconds, speech_s))


def sample_voices(audio: np.ndarray) -> list[tuple[float, list[tuple[int, int]]]]:
    """The voices heard in a sample clip: (seconds of speech, :func:`print_of` spans in ms)
    each, most speech first; the built-in labeller's speakers, so that a clip of two
    people is not taken for one person's sample."""
    from tui.engine.builtin_diarizer import BuiltinDiarizer

    spans: dict[int, list[tuple[int, int]]] = {}
    for segment in BuiltinDiarizer().labels(audio).segments:
        spans.setdefault(segment.speaker, []).append((segment.start_ms, segment.end_ms))
    heard = [(sum(e - s for s, e in voice) / 1000, voice) for voice in spans.values()]
    return sorted(heard, key=lambda voice: -voice[0])


def prints(audio: np.ndarray, script: Script) -> dict[str, Print]:
    """Every speaker's print in ``script`` (speakers with too little speech left out)."""
    out = {}
    for sid, spans in speaker_spans(script).items():
        found = print_of(audio, spans)
        if found is not None:
            out[sid] = found
    return out


def match(
    found: dict[str, Print],
    profiles: list[Profile],
    threshold: float = THRESHOLD,
    score: Callable[[Profile, np.ndarray], float] | None = None,
) -> dict[str, tuple[str, float]]:
    """speaker id -> (profile name, similarity): one name per speaker at most, one speaker per name.

    ``score`` (default: :meth:`Profile.score`) is how a profile scores a print."""
    from scipy.optimize import linear_sum_assignment

    usable = [p for p in profiles if p.usable()]
    sids = [sid for sid, p in found.items() if p.seconds >= MIN_SPEECH_S]
    if not usable or not sids:
        return {}
    scored = score or (lambda profile, vector: profile.score(vector))
    scores = np.array([[scored(p, found[sid].vector) for p in usable] for sid in sids])
    rows, cols = linear_sum_assignment(np.where(scores >= threshold, scores, -1.0), maximize=True)
    return {
        sids[r]: (usable[c].name, round(float(scores[r, c]), 3))
        for r, c in zip(rows, cols, strict=True)
        if scores[r, c] >= threshold
    }


def label(
    script: Script, audio: np.ndarray, profiles: list[Profile], threshold: float = THRESHOLD
) -> dict[str, Print]:
    """Name ``script``'s speakers whose voice matches a profile; returns the prints it made.

    Sets ``script.speakers[id]`` to the voice's name and
    ``script.speaker_matches[id] = {"voice", "confidence"}`` for each match.
    """
    found = prints(audio, script)
    for sid, (name, score) in match(found, profiles, threshold).items():
        script.speakers[sid] = name
        script.speaker_matches[sid] = {"voice": name, "confidence": score}
    return found


def enrol(profile: Profile | None, name: str, voice: Print, source: str = "") -> Profile:
    """``profile`` (a new one when None, or one of an old encoder) learning ``voice`` from ``source``.

    A sample from a recording the profile already knows refines that
    recording's centroid; a new recording adds one; past MAX_CENTROIDS the two
    most alike centroids are averaged into one.
    """
    if profile is None or profile.encoder != ENCODER:
        profile = Profile(name=name, encoder=ENCODER, centroids=[])
    new = Centroid([float(x) for x in voice.vector], source, voice.seconds)
    same = next((c for c in profile.centroids if source and c.source == source), None)
    if same is not None:
        profile.centroids[profile.centroids.index(same)] = _mean(same, new)
    else:
        profile.centroids.append(new)
    while len(profile.centroids) > MAX_CENTROIDS:
        matrix = np.array([unit(c.vector) for c in profile.centroids])
        sims = matrix @ matrix.T
        np.fill_diagonal(sims, -2.0)
        a, b = divmod(int(np.argmax(sims)), len(matrix))
        merged = _mean(profile.centroids[a], profile.centroids[b])
        profile.centroids = [c for i, c in enumerate(profile.centroids) if i not in (a, b)]
        profile.centroids.append(merged)
    return profile


def _mean(a: Centroid, b: Centroid) -> Centroid:
    wa, wb = max(a.seconds, 1.0), max(b.seconds, 1.0)
    vector = unit(np.asarray(a.vector) * wa + np.asarray(b.vector) * wb)
    return Centroid([float(x) for x in vector], a.source or b.source, a.seconds + b.seconds)


def merge(into: Profile, other: Profile) -> Profile:
    """One profile holding both voices' centroids (the same person under two names)."""
    result = Profile(into.name, into.encoder, list(into.centroids))
    for c in other.centroids if other.encoder == into.encoder else []:
        result = enrol(result, into.name, Print(unit(c.vector), c.seconds), c.source or "merged")
    return result

"""Same-room conversations: every voice through one simulated room, one microphone, one noise bed.

A file is built from a :class:`Spec` (deterministic for its seed):

1. each voice's clips are shuffled; a few short words are cut out first as
   backchannels (their clips are then not used for turns, so no audio appears
   twice in a file); turns take the remaining clips in order, cut at a quiet
   20 ms frame near the wanted length, never wrapping around (a voice that
   runs out is an error, not a repeat);
2. every piece is brought to the same loudness (RMS over its voiced 20 ms
   frames at -26 dBFS) before anything else;
3. speakers alternate (among the others, the one who said least talks next),
   with gaps or overlaps, short interjections between turns, and backchannels
   placed inside another speaker's long turn (overlapping it);
4. one pyroomacoustics image-source room (size, RT60 and seats drawn from
   the seed) gives one impulse response per seat to one microphone; each
   speaker's dry track is convolved with their seat's response (aligned on
   the direct path) and the tracks summed;
5. one noise bed (pink noise plus a 50/100 Hz hum) under everything, at the
   spec's SNR; for a phone file the whole mix is band-limited together (8 kHz
   sampling and back).

Reference turns are the dry pieces' voiced spans: leading and trailing
silence trimmed and pauses of 0.5 s or more removed (silence = a 20 ms frame
35 dB below the piece's loudest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmarks.conversations import FRAME, SR, _frame_rms

BACKCHANNEL_WORDS = {"yeah", "yes", "yep", "right", "okay", "ok", "mm-hmm", "mhm", "uh-huh", "sure"}
BACKCHANNEL_WORDS |= {"exactly", "thanks", "good", "great", "no", "well", "so", "absolutely"}
LEVEL_DB = -26.0


@dataclass(frozen=True)
class Spec:
    name: str
    voices: tuple[str, ...]
    seconds: float
    turn_s: tuple[float, float] = (2.0, 10.0)
    gap_s: tuple[float, float] = (0.15, 0.6)  # negative = the next turn starts early
    interject_every: int = 0  # every n-th turn a short interjection (0 = none)
    backchannels_per_min: float = 0.0
    phone: bool = False
    snr_db: float = 25.0
    seed: int = 0
    # Each voice's share of the talk (None: equal, every turn to another voice).
    # With shares a voice may talk on after a pause, as a chair or a host does.
    shares: tuple[float, ...] | None = None


@dataclass
class Built:
    name: str
    audio: np.ndarray
    turns: list[tuple[float, float, str]]  # seconds
    has_overlap: bool
    sources: list[str]  # clip ids used
    room: dict
    events: list[tuple[float, float, str, str]] = field(default_factory=list)


def voiced_spans(piece: np.ndarray, pause_frames: int = 25) -> list[tuple[int, int]]:
    """Sample spans of speech in a piece: trimmed, pauses of ``pause_frames`` x 20 ms removed."""
    rms = _frame_rms(piece)
    if len(rms) == 0:
        return []
    idx = np.flatnonzero(rms > rms.max() * 10 ** (-35 / 20))
    spans: list[list[int]] = []
    for f in idx:
        if spans and f - spans[-1][1] <= pause_frames:
            spans[-1][1] = int(f)
        else:
            spans.append([int(f), int(f)])
    return [(a * FRAME, (b + 1) * FRAME) for a, b in spans]


def normalise(piece: np.ndarray) -> np.ndarray:
    rms = _frame_rms(piece)
    if not len(rms):
        return piece
    voiced = rms[rms > rms.max() * 10 ** (-35 / 20)]
    level = float(np.sqrt(np.mean(voiced**2)))
    return (piece * (10 ** (LEVEL_DB / 20) / max(level, 1e-6))).astype(np.float32)


class Reader:
    """Consecutive pieces of one voice's clips (in the given order), never reusing audio."""

    def __init__(self, voice: str, clips: list[tuple[str, np.ndarray]]) -> None:
        self.voice = voice
        self.clips = [c for c in clips if len(c[1]) > SR // 4]
        self.i = 0
        self.pos = 0
        self.used: list[str] = []

    def empty(self) -> bool:
        """Whether every clip has been read."""
        return self.i >= len(self.clips)

    def take(self, seconds: float) -> np.ndarray:
        """About ``seconds`` of speech: a clip's next stretch, or several short clips joined."""
        out: list[np.ndarray] = []
        want = int(seconds * SR)
        while want > SR // 4:
            if self.i >= len(self.clips):
                if out:
                    break
                raise RuntimeError(f"voice {self.voice} has no unused audio left")
            cid, clip = self.clips[self.i]
            if cid not in self.used:
                self.used.append(cid)
            end = min(len(clip), self.pos + want)
            if end < len(clip) - SR // 2:  # cut at the quietest 20 ms within +-300 ms
                lo, hi = (
                    max(self.pos + FRAME, end - SR * 3 // 10),
                    min(len(clip), end + SR * 3 // 10),
                )
                rms = _frame_rms(clip[lo:hi])
                end = lo + int(np.argmin(rms)) * FRAME + FRAME // 2 if len(rms) else end
            else:
                end = len(clip)
            spans = voiced_spans(clip[self.pos : end])
            if spans:
                piece = clip[self.pos + spans[0][0] : self.pos + spans[-1][1]]
                out.append(normalise(piece))
                want -= len(piece) + SR * 3 // 10
            self.pos = end
            if self.pos >= len(clip):
                self.i, self.pos = self.i + 1, 0
        if not out:
            raise RuntimeError(f"voice {self.voice} has no unused audio left")
        gap = np.zeros(SR * 3 // 10, np.float32)
        joined = [out[0]]
        for piece in out[1:]:
            joined += [gap, piece]
        return np.concatenate(joined)


def backchannel_cuts(
    clips: list[tuple[str, np.ndarray]], words: dict[str, list[dict]], limit: int
) -> list[tuple[str, int, int]]:
    """Short words to drop in as backchannels: (clip id, start, end sample), one per clip.

    English clips (tiny.en words): first the words of :data:`BACKCHANNEL_WORDS`
    and "thank you" (0.15-1.0 s, cut at the word times +-30 ms), then any
    word of 0.2-0.9 s with 0.1 s of quiet either side (+-60 ms).  Clips
    without words (the prompt voices): whole prompts of 0.3-0.9 s of speech.
    """
    found: list[tuple[int, str, int, int]] = []
    for cid, clip in clips:
        if cid not in words:
            spans = voiced_spans(clip)
            if spans and 0.3 * SR <= spans[-1][1] - spans[0][0] <= 0.9 * SR:
                found.append((0, cid, 0, len(clip)))
            continue
        ws = words[cid]
        for k, w in enumerate(ws):
            token = w["w"].lower().strip(".,!?")
            end = w["e"]
            if (
                token == "thank"
                and k + 1 < len(ws)
                and ws[k + 1]["w"].lower().strip(".,!?") == "you"
            ):
                token, end = "thank you", ws[k + 1]["e"]
            dur = (end - w["s"]) / 1000
            before = w["s"] - (ws[k - 1]["e"] if k else 0)
            after = (ws[k + 1]["s"] if k + 1 < len(ws) else len(clip) * 1000 // SR) - w["e"]
            if (token in BACKCHANNEL_WORDS or token == "thank you") and 0.15 <= dur <= 1.0:
                pad, rank = 30, 0
            elif 0.2 <= dur <= 0.9 and before >= 100 and after >= 100:
                pad, rank = 60, 1
            else:
                continue
            a = max(0, (w["s"] - pad) * SR // 1000)
            found.append((rank, cid, a, min(len(clip), (end + pad) * SR // 1000)))
    found.sort(key=lambda t: t[0])  # stable: the wanted words first, clip order kept
    out: list[tuple[str, int, int]] = []
    for _, cid, a, b in found:
        if all(cid != c for c, _, _ in out) and len(out) < limit:
            out.append((cid, a, b))
    return out


def cut_out(
    clips: list[tuple[str, np.ndarray]], cuts: list[tuple[str, int, int]]
) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, np.ndarray]]]:
    """(clips with the cut words removed, the cut words trimmed and levelled)."""
    by_id = {cid: (a, b) for cid, a, b in cuts}
    rest: list[tuple[str, np.ndarray]] = []
    words: list[tuple[str, np.ndarray]] = []
    for cid, clip in clips:
        if cid not in by_id:
            rest.append((cid, clip))
            continue
        a, b = by_id[cid]
        rest += [(cid, clip[:a]), (cid, clip[b:])]
        spans = voiced_spans(clip[a:b])
        if spans:
            words.append((cid, normalise(clip[a + spans[0][0] : a + spans[-1][1]])))
    return rest, words


def room_responses(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], dict]:
    """One shoebox room, one microphone, ``n`` seats: each seat's impulse response, direct path first."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(4, 8), rng.uniform(3.5, 6), rng.uniform(2.5, 3.2)])
    rt60 = float(rng.uniform(0.25, 0.55))
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(
        dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, 17)
    )
    mic = np.array(
        [dims[0] / 2 + rng.uniform(-0.5, 0.5), dims[1] / 2 + rng.uniform(-0.5, 0.5), 0.8]
    )
    seats = []
    for k in range(n):  # round a table, 0.8-2.2 m from the microphone
        angle = 2 * np.pi * k / n + rng.uniform(-0.3, 0.3)
        dist = rng.uniform(0.8, 2.2)
        pos = mic + np.array([dist * np.cos(angle), dist * np.sin(angle), rng.uniform(0.3, 0.5)])
        pos = np.clip(pos, 0.3, dims - 0.3)
        seats.append(pos)
        room.add_source(pos)
    room.add_microphone(mic)
    room.compute_rir()
    rirs = []
    for k in range(n):
        rir = np.asarray(room.rir[0][k], np.float32)
        rirs.append(rir[max(0, int(np.argmax(np.abs(rir))) - 8) :])
    info = {
        "dims_m": [round(float(d), 2) for d in dims],
        "rt60_s": round(rt60, 2),
        "mic_to_seat_m": [round(float(np.linalg.norm(s - mic)), 2) for s in seats],
    }
    return rirs, info


def noise_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise plus mains hum, unit RMS."""
    white = rng.standard_normal(n + 1)
    spec = np.fft.rfft(white)
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
    pink = np.fft.irfft(spec, n + 1)[:n]
    t = np.arange(n) / SR
    hum = 0.3 * np.sin(2 * np.pi * 50 * t) + 0.15 * np.sin(2 * np.pi * 100 * t)
    bed = pink / (np.std(pink) + 1e-9) + hum
    return (bed / np.std(bed)).astype(np.float32)

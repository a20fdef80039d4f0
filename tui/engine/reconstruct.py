"""From windows' local speaker activity to who speaks when, on a 10 ms grid, and words to speakers.

Each window (:mod:`tui.engine.segmentation`) says which of its local speakers
talk in each of its frames; the clustering says which global speaker each
local speaker is.  Per 10 ms of the file:

* how many people talk: each window's expected number of speakers (its
  classes' probabilities times their sizes), averaged over the windows that
  cover the moment; n where that is n - 0.65 or more (:data:`COUNT_ROUNDING`);
* who: that many of the global speakers with the highest average activity
  over those windows (where two windows disagree evenly, the speaker of the
  cell its unit heard more surely).

Runs of one speaker's activity become segments (they may overlap another
speaker's); stretches where two or more talk are the overlaps.  A word goes
to the speaker active under most of it; in overlap, to the one whose averaged
activity covers it most; a word outside every speaker's activity goes to the
nearest one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tui.engine.local_embeddings import cell_of
from tui.engine.script import Word
from tui.engine.segmentation import (
    FRAME_DURATION_S,
    FRAME_STEP_S,
    FRAMES_PER_WINDOW,
    WINDOW_S,
    Segmentation,
)

FRAME_MS = 10
#: Pauses shorter than this inside one speaker's activity are part of the turn.
FILL_GAP_MS = 200
#: Activity runs shorter than this are dropped (a click, a breath).
MIN_RUN_MS = 100
#: Overlaps shorter than this are not reported.
MIN_OVERLAP_MS = 100
#: Speech regions for the encoder: joined across gaps under this, padded by PAD_MS.
JOIN_MS = 300
PAD_MS = 50
#: Who talks is counted by the segmentation's expected number of speakers (its
#: classes' probabilities) where it kept them, else by its most likely class, and
#: called n where the windows' average is n - COUNT_ROUNDING or more.  Chosen on the 141 tuning copies
#: (docs/speakers.md, *Calibration*): the most likely classes, halves up, 8.51 % DER
#: and 644 of 753 interjections kept; expected numbers rounded at 0.5 7.40 % but 632;
#: at 0.65, the nearest to 0.5 that kept every interjection, 8.12 % and 644.
COUNT_ROUNDING = 0.65
#: A word with no speaker under it looks this far for the nearest one.
NEAREST_MS = 3000


class Grid:
    """The windows' local activity laid on the file's 10 ms frames; n people talk where
    the windows' average number is n - ``rounding`` or more."""

    def __init__(
        self, seg: Segmentation, duration_ms: int, rounding: float = COUNT_ROUNDING
    ) -> None:
        self.seg, self.rounding = seg, rounding
        self.n = max(1, -(-duration_ms // FRAME_MS))
        self.cover = np.zeros(self.n, dtype=np.float32)
        self.talkers = np.zeros(self.n, dtype=np.float32)
        # How many talk, for the count: the expected number, or the most likely class's.
        expected = seg.expected
        self.counted = self.talkers if expected is None else np.zeros_like(self.talkers)
        self._frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for w, start in enumerate(seg.starts_ms):
            t = np.arange(start // FRAME_MS, min(self.n, int(start + WINDOW_S * 1000) // FRAME_MS))
            centre_s = (t * FRAME_MS + FRAME_MS / 2 - start) / 1000.0
            f = np.rint((centre_s - FRAME_DURATION_S / 2) / FRAME_STEP_S).astype(int)
            f = np.clip(f, 0, FRAMES_PER_WINDOW - 1)
            self._frames.append((t, f, cell_of(t * FRAME_MS + FRAME_MS / 2 - start)))
            self.cover[t] += 1
            self.talkers[t] += seg.activity[w, f].sum(axis=1)
            if expected is not None:
                self.counted[t] += expected[w, f]

    def count(self) -> np.ndarray:
        """Per frame, how many people talk: n where the windows' average is n - rounding
        or more.

        (Every moment is seen by two windows.  Counted by their most likely
        classes, where one hears a voice and the other does not -- often at a
        window's edge -- the voice is kept (halves up); counted by expected
        numbers, a voice one window is unsure of is not.)
        """
        return np.floor(self.counted / np.maximum(self.cover, 1) + self.rounding).astype(int)

    def speech_regions(self, pad_ms: int = PAD_MS) -> list[tuple[int, int]]:
        """(start_ms, end_ms) where any window hears anyone, joined and padded."""
        runs = _runs(self.talkers > 0)
        out: list[tuple[int, int]] = []
        end_ms = self.n * FRAME_MS
        for a, b in runs:
            s, e = max(0, a * FRAME_MS - pad_ms), min(end_ms, b * FRAME_MS + pad_ms)
            if out and s - out[-1][1] < (JOIN_MS if pad_ms else 0):
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
        return out

    def speakers(
        self, mapping: np.ndarray, k: int, confidence: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(active (frames, k) bool, score (frames, k)) given each local speaker's global one.

        ``mapping`` is (windows, 3, cells), -1 where a local speaker's 0.25 s
        cell (:data:`tui.engine.local_embeddings.CELLS` per window) has no
        global speaker.  ``confidence`` (the same shape) breaks the windows'
        even disagreements: the speaker of the more confident cell ranks first
        (without it, the lower speaker number).
        """
        score = np.zeros((self.n, k), dtype=np.float32)
        tiebreak = np.zeros((self.n, k), dtype=np.float32)
        for w, (t, f, cells) in enumerate(self._frames):
            act = self.seg.activity[w, f]
            for local in range(act.shape[1]):
                spk = mapping[w, local, cells]
                on = (spk >= 0) & act[:, local]
                np.add.at(score, (t[on], spk[on]), 1.0)
                if confidence is not None:
                    np.add.at(tiebreak, (t[on], spk[on]), confidence[w, local, cells][on])
        score /= np.maximum(self.cover, 1)[:, None]
        count = np.minimum(self.count(), k)
        # The tiebreak (at most 2 x 1e-3) never outweighs a window's vote (0.5 at least).
        ranked = np.argsort(-(score + 1e-3 * tiebreak), axis=1, kind="stable")
        active = np.zeros_like(score, dtype=bool)
        for c in range(1, k + 1):
            rows = np.flatnonzero(count >= c)
            active[rows, ranked[rows, c - 1]] = True
        active &= score > 0
        for spk in range(k):
            active[:, spk] = _clean(active[:, spk])
        return active, score


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frame of every run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=False)
    )


def _clean(mask: np.ndarray) -> np.ndarray:
    """Fill pauses under FILL_GAP_MS, then drop runs under MIN_RUN_MS."""
    mask = mask.copy()
    runs = _runs(mask)
    for (_, b), (c, _) in zip(runs, runs[1:], strict=False):
        if (c - b) * FRAME_MS < FILL_GAP_MS:
            mask[b:c] = True
    for a, b in _runs(mask):
        if (b - a) * FRAME_MS < MIN_RUN_MS:
            mask[a:b] = False
    return mask


def segments_of(active: np.ndarray, duration_ms: int) -> list[tuple[int, int, int]]:
    """(start_ms, end_ms, speaker) per run of activity, in time order."""
    out = []
    for spk in range(active.shape[1]):
        for a, b in _runs(active[:, spk]):
            out.append((a * FRAME_MS, min(duration_ms, b * FRAME_MS), spk))
    return sorted(out)


def overlaps_of(active: np.ndarray, duration_ms: int) -> list[tuple[int, int]]:
    """(start_ms, end_ms) where two or more speakers talk."""
    return [
        (a * FRAME_MS, min(duration_ms, b * FRAME_MS))
        for a, b in _runs(active.sum(axis=1) >= 2)
        if (b - a) * FRAME_MS >= MIN_OVERLAP_MS
    ]


def word_speakers(words: Sequence[Word], active: np.ndarray, score: np.ndarray) -> list[int]:
    """Per word, the speaker active under most of it (in overlap, the most active)."""
    n, k = active.shape
    anyone = np.flatnonzero(active.any(axis=1))
    totals = active.sum(axis=0)
    fallback = int(np.argmax(totals)) if k else 0
    out = []
    for word in words:
        a = min(n - 1, max(0, word.s // FRAME_MS))
        b = min(n, max(a + 1, -(-word.e // FRAME_MS)))
        covered = active[a:b].sum(axis=0)
        if covered.max() > 0:
            weight = covered + 1e-3 * (score[a:b] * active[a:b]).sum(axis=0)
            out.append(int(np.argmax(weight)))
            continue
        if len(anyone) == 0:
            out.append(fallback)
            continue
        mid = (a + b) // 2
        i = int(np.searchsorted(anyone, mid))
        near = [anyone[j] for j in (i - 1, i) if 0 <= j < len(anyone)]
        nearest = min(near, key=lambda x: abs(int(x) - mid))
        if abs(int(nearest) - mid) * FRAME_MS > NEAREST_MS:
            out.append(fallback)
        else:
            out.append(int(np.argmax(score[nearest] * active[nearest])))
    return out

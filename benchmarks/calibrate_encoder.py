"""Measure a speaker encoder's thresholds on the tuning voices (never on fixtures).

    python benchmarks/calibrate_encoder.py [--encoder campplus|resemblyzer]

The four TUNING people of benchmarks/conversations.py (speakerbox's council
clips), each clip full-band and band-limited to 8 kHz (phone), cut into the
diarizer's windows (1.6 s every 0.8 s) and embedded as the diarizer does (one
set of features per clip).  Then, with a fixed random seed:

* one voice: 300 draws of 12-20 windows of one person (a run of clips, as in
  a one-minute file), split in two by k-means: how alike are the halves?
* a hidden voice: 600 draws of 21-24 windows, 6-9 of them another person's:
  how alike are the halves of the best split?
* window pairs: same person against different people (equal-error point), and
  a window's similarity to its own person's centroid against another's.

The rules that turn the figures into thresholds (the numbers in
tui/engine/campplus.py came from this script, run once):

* split_below: 0.01 under the lowest one-voice halves similarity seen, in
  either band, rounded down to 0.01 (no draw of one voice is ever split);
* merge_above: the highest hidden-voice halves similarity seen, in either
  band, rounded up to 0.05, plus 0.05 (no two voices are ever joined);
* merge_threshold (few-window files): the full-band equal-error distance of
  window pairs, to the nearest 0.05;
* local_margin: short stretches (0.25-1.5 s, embedded alone, as the
  diarizer embeds them) of each person, 200 per band: how much more does a
  stretch resemble some *other* person's centroid than its own person's?
  The margin is the 99th percentile of that over both bands, rounded up to
  0.01: a stretch inside one person's turn takes another speaker in at most
  1 % of cases.  Also printed: how often a stretch set inside another
  person's turn beats that person by the margin (an interjection kept).

For resemblyzer the same rules give thresholds near the ones chosen for it in
the first session (0.82, 0.40, 0.05; the figures are printed next to them); it
has no merge step because its one-voice and hidden-voice figures overlap.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.conversations import TUNING, load_clips, phone_band  # noqa: E402
from tui.engine.builtin_diarizer import (  # noqa: E402
    CAMPLUSPLUS,
    HOP_FRAMES,
    LOCAL_MAX,
    LOCAL_MIN,
    RESEMBLYZER,
    WINDOW_FRAMES,
    Encoder,
)

BANDS = ("full", "phone")


def voice_windows(
    encoder: Encoder, rng: np.random.Generator
) -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], np.ndarray]]:
    """(band, person) -> the person's window embeddings (clip after clip), and
    (band, person) -> embeddings of short stretches of their clips, each alone."""
    clips = load_clips()
    windows, stretches = {}, {}
    for band in BANDS:
        for person in TUNING:
            embs, short = [], []
            for clip in clips[person]:
                audio = phone_band(clip) if band == "phone" else clip
                feats = encoder.features(audio, False)
                spans = [
                    (f, WINDOW_FRAMES)
                    for f in range(0, max(1, len(feats) - WINDOW_FRAMES + 1), HOP_FRAMES)
                ]
                embs.append(encoder.embed([(feats, spans)]))
                for _ in range(200 // len(clips[person]) + 1):
                    n = int(rng.integers(LOCAL_MIN, LOCAL_MAX + 1))
                    if len(feats) > n:
                        first = int(rng.integers(0, len(feats) - n))
                        short.append(encoder.embed([(feats[first : first + n], [(0, n)])]))
            windows[(band, person)] = np.concatenate(embs)
            stretches[(band, person)] = np.concatenate(short)
    return windows, stretches


def _halves(points: np.ndarray) -> float | None:
    from sklearn.cluster import KMeans

    halves = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(points)
    if min(np.bincount(halves, minlength=2)) < 6:
        return None
    a, b = (_unit(points[halves == h].mean(axis=0)) for h in (0, 1))
    return float(a @ b)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=("campplus", "resemblyzer"), default="campplus")
    args = parser.parse_args()
    encoder = CAMPLUSPLUS if args.encoder == "campplus" else RESEMBLYZER
    rng = np.random.default_rng(0)
    windows, stretches = voice_windows(encoder, rng)

    def draw(emb: np.ndarray, n: int) -> np.ndarray:
        start = int(rng.integers(0, max(1, len(emb) - 3 * n)))
        pool = emb[start : start + 3 * n]
        return pool[rng.choice(len(pool), min(n, len(pool)), replace=False)]

    lowest_one, highest_hidden, figures, leaks, wins = 1.0, -1.0, {}, [], []
    for band in BANDS:
        one = []
        for _ in range(300):
            person = TUNING[int(rng.integers(len(TUNING)))]
            sim = _halves(_unit(draw(windows[(band, person)], int(rng.integers(12, 21)))))
            if sim is not None:
                one.append(sim)
        hidden, unsplit = [], 0
        for _ in range(600):
            a, b = rng.choice(len(TUNING), 2, replace=False)
            n, k = int(rng.integers(21, 25)), int(rng.integers(6, 10))
            points = np.concatenate(
                [draw(windows[(band, TUNING[a])], n - k), draw(windows[(band, TUNING[b])], k)]
            )
            sim = _halves(_unit(points))
            if sim is None:
                unsplit += 1
            else:
                hidden.append(sim)
        one_a, hid_a = np.array(one), np.array(hidden)
        lowest_one = min(lowest_one, float(one_a.min()))
        highest_hidden = max(highest_hidden, float(hid_a.max()))
        print(
            f"{band:5} one voice halves: lowest {one_a.min():.3f}, 1st pct {np.percentile(one_a, 1):.3f},"
            f" median {np.median(one_a):.3f} ({len(one_a)} draws)"
        )
        print(
            f"{band:5} hidden voice halves: median {np.median(hid_a):.3f}, 99th pct"
            f" {np.percentile(hid_a, 99):.3f}, highest {hid_a.max():.3f}"
            f" ({len(hid_a)} draws; {unsplit} gave a half under 6 windows)"
        )
        emb = {p: _unit(windows[(band, p)]) for p in TUNING}
        same = np.concatenate(
            [(emb[p] @ emb[p].T)[np.triu_indices(len(emb[p]), 1)] for p in TUNING]
        )
        diff = np.concatenate(
            [(emb[p] @ emb[q].T).ravel() for i, p in enumerate(TUNING) for q in TUNING[i + 1 :]]
        )
        grid = np.linspace(-1, 1, 401)
        miss = np.array([np.mean(same < t) for t in grid])
        false = np.array([np.mean(diff >= t) for t in grid])
        i = int(np.argmin(np.abs(miss - false)))
        own = np.concatenate([emb[p] @ _unit(emb[p].mean(axis=0)) for p in TUNING])
        other = np.concatenate(
            [emb[p] @ _unit(emb[q].mean(axis=0)) for p in TUNING for q in TUNING if q != p]
        )
        figures[band] = (1 - grid[i], float(own.mean() - other.mean()))
        centre = {p: _unit(emb[p].mean(axis=0)) for p in TUNING}
        for p in TUNING:
            mine = _unit(stretches[(band, p)]) @ centre[p]
            theirs = np.stack([_unit(stretches[(band, p)]) @ centre[q] for q in TUNING if q != p])
            leaks.append(theirs.max(axis=0) - mine)  # > margin: would wrongly switch
            wins.append((mine - theirs).ravel())  # > margin: an interjection kept
        print(
            f"{band:5} window pairs: equal error {100 * (miss[i] + false[i]) / 2:.1f} % at distance"
            f" {1 - grid[i]:.3f}; own-voice minus other-voice similarity {figures[band][1]:.3f}"
        )
    leak, win = np.concatenate(leaks), np.concatenate(wins)
    margin = math.ceil(float(np.percentile(leak, 99)) * 100) / 100
    print(
        f"short stretches ({len(leak)}): another voice beats their own by more than"
        f" {margin:.2f} in {100 * np.mean(leak > margin):.1f} %; their own voice beats"
        f" another by more than {margin:.2f} in {100 * np.mean(win > margin):.1f} %"
        f" (at {encoder.local_margin}: {100 * np.mean(leak > encoder.local_margin):.1f} %"
        f" and {100 * np.mean(win > encoder.local_margin):.1f} %)"
    )
    print(f"\nthresholds for {encoder.name} by the rules in this script's docstring:")
    print(f"  split_below     {math.floor(lowest_one * 100) / 100 - 0.01:.2f}")
    print(f"  merge_above     {math.ceil(highest_hidden * 20) / 20 + 0.05:.2f}")
    print(f"  merge_threshold {round(figures['full'][0] * 20) / 20:.2f}")
    print(f"  local_margin    {margin:.2f}")
    print(
        f"in use: split_below {encoder.split_below}, merge_above {encoder.merge_above},"
        f" merge_threshold {encoder.merge_threshold}, local_margin {encoder.local_margin}"
    )


if __name__ == "__main__":
    main()

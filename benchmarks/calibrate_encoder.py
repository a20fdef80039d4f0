"""Measure the built-in diarizer's clustering threshold on TUNING conversations (never fixtures).

    python benchmarks/calibrate_encoder.py [--tuning DIR] [--write]

Data: the tuning conversations only.  With ``--tuning DIR``, every
``DIR/*.wav`` (16 kHz mono) with its reference ``DIR/<name>.rttm`` (the
same-room tuning set: simulated rooms with the tuning voices, see
docs/speakers.md); without it, the glued tuning conversations of
``benchmarks/conversations.py`` (TUNING voices).  No evaluation voice and no
test fixture is ever read.

For each conversation the diarizer's own first steps run unchanged
(segmentation every 5 s, CAM++ embeddings per window and local speaker,
:mod:`tui.engine.local_embeddings`).  Each *reliable* embedding (enough clean
speech to shape the clusters) is given the reference speaker who talks in
most of its window-speaker's clean frames, when that speaker has at least
80 % of them (else it is left out: a segmentation error, not a voice).  Then:

* pairs from different windows of one conversation: same person against
  different people.  The rule: ``clustering.THRESHOLD`` is the equal-error
  similarity of those pairs (the point where the share of same-person pairs
  below it equals the share of different-person pairs above it), rounded to
  the nearest 0.05.  Average linkage compares cluster averages, whose spread
  is narrower than single pairs', so the crossing point is where both kinds
  of mistake are equally (un)likely;
* pairs from *one* window (two local speakers of one window): the
  segmentation sometimes gives one person two tracks.  The rule:
  ``clustering.FUSE_ABOVE`` is the highest similarity of a different-person
  pair within one window, rounded up to 0.05 (no two people of one window
  were ever joined on the tuning set);
* also printed: the crossing point per conversation, and how many reliable
  embeddings there were.

Also measured here and printed (no threshold depends on them): the
segmentation step (2.5, 5 and 10 s between windows) against DER on the
tuning conversations, with ``--steps``.
"""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.engine import clustering, local_embeddings, reconstruct, segmentation  # noqa: E402

SR = 16000
#: An embedding is labelled with a reference speaker who has this share of its clean frames.
PURITY = 0.8

Turns = list[tuple[int, int, str]]


def read_rttm(path: Path) -> Turns:
    """(start_ms, end_ms, speaker) of every SPEAKER line."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            out.append((round(start * 1000), round((start + dur) * 1000), parts[7]))
    return out


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as f:
        if f.getframerate() != SR or f.getnchannels() != 1 or f.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit")
        return np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16) / 32768.0


def tuning_set(folder: Path | None) -> list[tuple[str, np.ndarray, Turns]]:
    """(name, audio, reference turns) of every tuning conversation."""
    if folder is not None:
        out = []
        for wav in sorted(folder.glob("*.wav")):
            rttm = wav.with_suffix(".rttm")
            if rttm.exists():
                out.append((wav.stem, read_wav(wav).astype(np.float32), read_rttm(rttm)))
        if not out:
            raise SystemExit(f"{folder}: no *.wav with its *.rttm")
        return out
    from benchmarks.conversations import TUNING_SET, build, load_clips

    clips = load_clips()
    return [(s.name, c.audio, c.turns) for s in TUNING_SET for c in [build(s, clips)]]


def labelled_embeddings(audio: np.ndarray, turns: Turns) -> tuple[np.ndarray, ...]:
    """Reliable embeddings of one conversation, their windows and blocks, their reference speaker."""
    from tui.engine.vad import level

    audio = level(audio)
    seg = segmentation.segment(audio)
    grid = reconstruct.Grid(seg, len(audio) * 1000 // SR)
    emb, _ = local_embeddings.embed(audio, seg, grid.speech_regions())
    names = sorted({w for *_, w in turns})
    ref = np.zeros((grid.n, len(names)), dtype=bool)
    for s, e, who in turns:
        ref[s // 10 : e // 10, names.index(who)] = True
    keep, owners = [], []
    for i in np.flatnonzero(emb.reliable):
        w, local = int(emb.window[i]), int(emb.local[i])
        act = seg.activity[w]
        clean = act[:, local] & (act.sum(axis=1) == 1)
        times = seg.frame_ms(w, np.flatnonzero(clean)) // 10
        times = times[(times >= 0) & (times < grid.n)].astype(int)
        if len(times) == 0:
            continue
        share = ref[times].mean(axis=0)
        best = int(np.argmax(share))
        if share[best] >= PURITY and ref[times].sum(axis=1).max() >= 1:
            keep.append(i)
            owners.append(names[best])
    return emb.vectors[keep], emb.window[keep], emb.block[keep], owners


def equal_error(same: np.ndarray, diff: np.ndarray) -> float:
    """The similarity where same-person pairs below it and different-person pairs above it are equally many (shares)."""
    grid = np.linspace(-1, 1, 2001)
    miss = np.array([(same < t).mean() for t in grid])
    false = np.array([(diff >= t).mean() for t in grid])
    return float(grid[int(np.argmin(np.abs(miss - false)))])


def der(turns: Turns, segments: list) -> float:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for i, (s, e, w) in enumerate(turns):
        ref[Segment(s / 1000, e / 1000), i] = w
    for i, g in enumerate(segments):
        hyp[Segment(g.start_ms / 1000, g.end_ms / 1000), i] = f"S{g.speaker}"
    return float(DiarizationErrorRate(collar=0.25, skip_overlap=True)(ref, hyp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuning", type=Path, help="folder of tuning *.wav + *.rttm")
    parser.add_argument("--steps", action="store_true", help="also DER per segmentation step")
    args = parser.parse_args()
    data = tuning_set(args.tuning)
    same_all, diff_all, inside_same, inside_diff = [], [], [], []
    for name, audio, turns in data:
        vectors, windows, blocks, owners = labelled_embeddings(audio, turns)
        owners = np.array(owners)
        sims = vectors @ vectors.T
        upper = np.triu(np.ones_like(sims, dtype=bool), 1) & (windows[:, None] != windows[None, :])
        same_mask = upper & (owners[:, None] == owners[None, :])
        diff_mask = upper & (owners[:, None] != owners[None, :])
        same, diff = sims[same_mask], sims[diff_mask]
        one = np.triu(
            (windows[:, None] == windows[None, :]) & (blocks[:, None] == blocks[None, :]), 1
        )
        inside_same.append(sims[one & (owners[:, None] == owners[None, :])])
        inside_diff.append(sims[one & (owners[:, None] != owners[None, :])])
        same_all.append(same)
        diff_all.append(diff)
        eer = equal_error(same, diff) if len(same) and len(diff) else float("nan")
        print(
            f"{name:28s} embeddings {len(owners):4d}  same {np.median(same) if len(same) else 0:.2f}"
            f"  different {np.median(diff) if len(diff) else 0:.2f}  crossing {eer:.3f}"
        )
    same, diff = np.concatenate(same_all), np.concatenate(diff_all)
    eer = equal_error(same, diff)
    print(f"all: {len(same)} same-person pairs, {len(diff)} different-person pairs")
    print(f"equal-error similarity {eer:.3f} -> THRESHOLD {round(eer / 0.05) * 0.05:.2f}")
    print(f"(now in tui/engine/clustering.py: {clustering.THRESHOLD})")
    one_same, one_diff = np.concatenate(inside_same), np.concatenate(inside_diff)
    print(
        f"within one window: {len(one_same)} same-person pairs (median "
        f"{np.median(one_same) if len(one_same) else float('nan'):.2f}), {len(one_diff)} "
        f"different-person pairs (highest {one_diff.max() if len(one_diff) else float('nan'):.3f})"
    )
    if len(one_diff):
        print(f"-> FUSE_ABOVE {np.ceil(one_diff.max() / 0.05) * 0.05:.2f}")
    print(f"(now: {clustering.FUSE_ABOVE})")
    if args.steps:
        from tui.engine.builtin_diarizer import BuiltinDiarizer

        for step in (2.5, 5.0, 10.0):
            ders = [der(t, BuiltinDiarizer(step).diarize(a, []).segments) for _, a, t in data]
            print(f"step {step:4.1f} s: mean DER {np.mean(ders):.3f}")


if __name__ == "__main__":
    main()

"""Measure the built-in diarizer's clustering thresholds on TUNING conversations (never fixtures).

    python benchmarks/calibrate_encoder.py --tuning .evaldata/tune [--grid]

Data: the tuning conversations only.  With ``--tuning DIR``, every
``DIR/*.wav`` (16 kHz mono) with its reference ``DIR/<name>.rttm`` (the
same-room tuning set: simulated rooms with the tuning voices, see
docs/speakers.md); without it, the glued tuning conversations of
``benchmarks/conversations.py`` (TUNING voices).  No evaluation voice and no
test fixture is ever read.

For each conversation the diarizer's own first steps run unchanged
(segmentation every 5 s, CAM++ embeddings per window, local speaker and
2.5 s block, :mod:`tui.engine.local_embeddings`).  Each *reliable* block
embedding (enough clean speech) is given the reference speaker who talks in
most of the block's active frames, when that speaker has at least 80 % of
them (else it is left out: a segmentation error, not a voice).  Then:

* ``clustering.MERGE_ABOVE``: per conversation, each reference speaker's
  centroid (mean of their labelled blocks); the rule is the highest
  similarity of two different people's centroids in any one conversation,
  rounded up to 0.05 (no two people of the tuning set would be merged);
* ``clustering.THRESHOLD`` and ``clustering.MIN_SPEAKER_MS``, with
  ``--grid``: the labeller runs on every tuning conversation for THRESHOLD
  0.40 / 0.45 / 0.50 and MIN_SPEAKER_MS 1 s / 3 s; the rule is the lowest
  mean DER (collar 0.25 s, overlap skipped), ties broken by more counts right
  (how THRESHOLD was first chosen, 0.45; since the linkage counts only short
  files it is chosen on short copies with ``replay_speakers.py --thresholds``,
  docs/speakers.md);
* also printed (no threshold depends on it): the equal-error similarity of
  same- and different-person block pairs from different windows.
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
    emb = local_embeddings.embed(audio, seg, grid.speech_regions()).blocks
    names = sorted({w for *_, w in turns})
    ref = np.zeros((grid.n, len(names)), dtype=bool)
    for s, e, who in turns:
        ref[s // 10 : e // 10, names.index(who)] = True
    keep, owners = [], []
    for i in np.flatnonzero(emb.reliable):
        w, local = int(emb.window[i]), int(emb.local[i])
        act = seg.activity[w]
        frames = np.arange(len(act))
        offsets = seg.frame_ms(w, frames) - seg.starts_ms[w]
        inside = local_embeddings.block_of(offsets) == int(emb.block[i])
        # The block's active frames (overlapped ones too), as when MERGE_ABOVE was set;
        # its clean frames alone give 0.547 (-> 0.55), the same tuning results.
        heard = act[:, local] & inside
        times = seg.frame_ms(w, np.flatnonzero(heard)) // 10
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
    parser.add_argument("--grid", action="store_true", help="also THRESHOLD x MIN_SPEAKER_MS")
    args = parser.parse_args()
    data = tuning_set(args.tuning)
    same_all, diff_all, highest = [], [], []
    for name, audio, turns in data:
        vectors, windows, _, owners = labelled_embeddings(audio, turns)
        owners = np.array(owners)
        sims = vectors @ vectors.T
        upper = np.triu(np.ones_like(sims, dtype=bool), 1) & (windows[:, None] != windows[None, :])
        same_all.append(sims[upper & (owners[:, None] == owners[None, :])])
        diff_all.append(sims[upper & (owners[:, None] != owners[None, :])])
        people = sorted(set(owners.tolist()))
        centroids = np.stack([vectors[owners == p].mean(axis=0) for p in people])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        between = centroids @ centroids.T
        np.fill_diagonal(between, -1.0)
        top = float(between.max()) if len(people) > 1 else float("nan")
        if len(people) > 1:
            highest.append(top)
        print(f"{name:28s} blocks {len(owners):4d}  people {len(people)}  closest two {top:.3f}")
    same, diff = np.concatenate(same_all), np.concatenate(diff_all)
    print(
        f"all: {len(same)} same-person block pairs, {len(diff)} different-person pairs; "
        f"equal-error similarity {equal_error(same, diff):.3f}"
    )
    print(
        f"highest different-person centroid similarity {max(highest):.3f} -> MERGE_ABOVE "
        f"{np.ceil(max(highest) / 0.05) * 0.05:.2f} (now: {clustering.MERGE_ABOVE})"
    )
    if args.grid:
        from tui.engine.builtin_diarizer import BuiltinDiarizer

        saved = clustering.THRESHOLD, clustering.MIN_SPEAKER_MS, clustering.LINKAGE_MIN_SPEAKER_MS
        for threshold in (0.40, 0.45, 0.50):
            for least in (1000, 3000):
                clustering.THRESHOLD = threshold
                clustering.MIN_SPEAKER_MS = clustering.LINKAGE_MIN_SPEAKER_MS = least
                ders, right = [], 0
                for _, audio, turns in data:
                    result = BuiltinDiarizer().diarize(audio, [])
                    ders.append(der(turns, result.segments))
                    right += result.num_speakers == len({w for *_, w in turns})
                print(
                    f"THRESHOLD {threshold:.2f} MIN_SPEAKER_MS {least}: mean DER "
                    f"{np.mean(ders):.3f}, counts right {right}/{len(data)}"
                )
        clustering.THRESHOLD, clustering.MIN_SPEAKER_MS, clustering.LINKAGE_MIN_SPEAKER_MS = saved
        print(f"(now: THRESHOLD {saved[0]}, MIN_SPEAKER_MS {saved[1]})")


if __name__ == "__main__":
    main()

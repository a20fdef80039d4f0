"""Score the labeller's clustering steps quickly, on cached segmentation and embeddings.

    python benchmarks/replay_speakers.py --sets tune,tune_more [--data .evaldata]
        [--cache .evaldata/replay] [--files a,b] [--units-held-by-any] [--quiet 20,40]

The slow part of labelling a file (segmentation-3.0, the CAM++ trunk pass and
the count's pieces: :func:`tui.engine.builtin_diarizer.hear`) is run once per
file and kept in ``--cache``; the steps after it (the count, the speakers
from the pieces, the blocks' and units' speakers, the reconstruction:
:func:`tui.engine.builtin_diarizer.label`) are replayed from it with the code
as it is, so a change to them is scored on a
whole set in seconds, both ways in one run.  DER as ``bench_speakers.py
--no-asr`` scores it (segments, collar 0.25 s, overlap skipped).

``--quiet 20,40`` replays every file also 20 and 40 dB down, rounded to 16
bits (``sameroom.py``'s held-out ``quiet`` set is written at the same
precision), so tuning files can show what the quiet copies measure: whether
the count flips with the level.  The copies are cached by name
(``<file>_20db``) like the files themselves.

``--units-held-by-any`` replays the unit rule as it was before: a 0.5 s unit
held off a speaker by any other local speaker of its window, talking in that
unit or not (docs/speakers.md, *The unit rule*).  One torch thread, as the
pipeline's labeller runs.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_speakers import MORE_SETS, SETS, ders, load_set  # noqa: E402
from tui.engine import builtin_diarizer, local_embeddings, segmentation  # noqa: E402


def prepared(f: dict, cache: Path) -> builtin_diarizer.Heard:
    """What the labeller's models hear in a file (computed once, then cached)."""
    path = cache / f"{f['set']}__{f['meta']['name']}.heard.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    heard = builtin_diarizer.hear(f["audio"], segmentation.STEP_S)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(heard))
    return heard


def held_by_any(mapping: np.ndarray, units, centroids: np.ndarray) -> np.ndarray:
    """The unit rule before: any other local speaker of the window holds its speaker."""
    out = np.repeat(mapping, local_embeddings.UNITS_PER_BLOCK, axis=2)
    if len(centroids) < 2:
        return out
    best = np.argmax(units.vectors @ centroids.T, axis=1)
    for i in np.flatnonzero(units.clean_ms >= local_embeddings.MIN_ANY_MS):
        w, local, u = units.window[i], units.local[i], units.block[i]
        if out[w, local, u] >= 0 and best[i] != out[w, local, u]:
            if best[i] not in np.delete(out[w, :, u], local):
                out[w, local, u] = best[i]
    return out


def labelled(heard: builtin_diarizer.Heard, old_units: bool) -> list[tuple[float, float, int]]:
    """(start_s, end_s, speaker) as the labeller would give them, without a user's count."""
    rule = held_by_any if old_units else None
    labelling = builtin_diarizer.label(heard, segmentation.STEP_S, unit_rule=rule)
    return [(seg.start_ms / 1000, seg.end_ms / 1000, seg.speaker) for seg in labelling.segments]


def _levels(text: str) -> list[int]:
    """``"20,40"`` -> [20, 40]: dB below the file's own level."""
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not whole dB values: {text!r} (e.g. 20,40)") from None
    if any(db <= 0 for db in levels):
        raise argparse.ArgumentTypeError(f"levels are dB down, above 0: {text!r}")
    return levels


def _with_quiet(files: list[dict], quiet: list[int]) -> list[dict]:
    """``files``, each followed by its copies ``quiet`` dB down, rounded to 16 bits."""
    out = []
    for f in files:
        out.append(f)
        for db in quiet:
            audio = np.round(f["audio"] * 10 ** (-db / 20) * 32768).clip(-32768, 32767) / 32768
            meta = {**f["meta"], "name": f"{f['meta']['name']}_{db}db"}
            out.append({**f, "meta": meta, "audio": audio.astype(np.float32)})
    return out


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tune")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".evaldata"
    )
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--files", default="")
    parser.add_argument("--units-held-by-any", action="store_true")
    parser.add_argument(
        "--quiet", default="", type=_levels, help="also each file this many dB down: 20,40"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = args.cache or args.data / "replay"
    only = set(args.files.split(",")) if args.files else None
    means = []
    for name in args.sets.split(","):
        if name not in (*SETS, *MORE_SETS):
            sys.exit(f"no set {name!r}: one of {', '.join((*SETS, *MORE_SETS))}")
        rows = []
        for f in _with_quiet(load_set(args.data, name, only), args.quiet):
            hyp = labelled(prepared(f, cache), args.units_held_by_any)
            ref = len({s for *_, s in f["turns"]})
            found = len({s for *_, s in hyp})
            der = ders(f["turns"], hyp)["der"]
            rows.append((der, ref == found))
            print(
                f"{name:12} {f['meta']['name']:26} ref {ref} found {found}  DER {100 * der:5.1f} %"
            )
        print(
            f"== {name}: DER {100 * np.mean([r[0] for r in rows]):.2f} %, "
            f"count right {sum(r[1] for r in rows)} of {len(rows)}"
        )
        means += rows
    if len(args.sets.split(",")) > 1:
        print(
            f"== all: DER {100 * np.mean([r[0] for r in means]):.2f} %, "
            f"count right {sum(r[1] for r in means)} of {len(means)}"
        )


if __name__ == "__main__":
    main()

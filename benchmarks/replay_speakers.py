"""Score the labeller's clustering steps quickly, on cached segmentation and embeddings.

    python benchmarks/replay_speakers.py --sets tune,tune_more [--data .evaldata]
        [--cache .evaldata/replay] [--files a,b] [--rules current,in-context] [--quiet 20,40]
        [--excerpts 30] [--thresholds 0.40,0.45,0.50] [--least 1000,3000]
        [--counts estimated,given] [--kmeans scipy,sklearn] [--steps 5,2.5]

The slow part of labelling a file (segmentation-3.0, the CAM++ trunk pass and
the count's pieces: :func:`tui.engine.builtin_diarizer.hear`) is run once per
file and kept in ``--cache``; the steps after it (the count, the speakers
from the pieces, the blocks' and units' speakers, the reconstruction:
:func:`tui.engine.builtin_diarizer.label`) are replayed from it with the code
as it is, so a change to them is scored on a
whole set in seconds, both ways in one run.  DER as ``bench_speakers.py
--no-asr`` scores it (segments, collar 0.25 s, overlap skipped).  What is
cached carries a fingerprint of the code that heard it (:func:`hearing_code`):
after a change to that code a file is heard again, never replayed from what
other code heard.

``--quiet 20,40`` replays every file also 20 and 40 dB down, rounded to 16
bits (``sameroom.py``'s held-out ``quiet`` set is written at the same
precision), so tuning files can show what the quiet copies measure: whether
the count flips with the level.  The copies are cached by name
(``<file>_20db``) like the files themselves.

``--excerpts 30`` cuts every file into consecutive 30 s excerpts (the
last, shorter part dropped; the reference cropped with it) and replays each
as a file of its own: short clips, as the blocks' linkage counts them
(under :data:`tui.engine.clustering.COUNT_MIN_PIECES_ESTIMATE` pieces), made
from longer tuning conversations.  An excerpt's count is right when it
finds the reference's voices with 2 s of speech or more in it (a voice
that says less is neither asked for nor an error); a whole file's, all of
its reference's voices.

``--thresholds 0.40,0.45`` replays every file once per value of the
linkage's threshold (:data:`tui.engine.clustering.THRESHOLD`) and closes
with a table per value: counts right and DER over all files, over the files
under the eigengap's floor of pieces (the only ones the threshold counts
without a user's count), and over the short calls.  ``--least 1000,3000``
does the same for the clean speech a speaker of the linkage needs
(:data:`tui.engine.clustering.LINKAGE_MIN_SPEAKER_MS`), and with both,
every pair of values is replayed.

``--counts estimated,given`` replays every file without a user's count (as
by default) and with the reference's count given as ``--speakers`` would
give it (an excerpt's: its voices with 2 s or more), each in the same run.

``--kmeans scipy,sklearn`` replays the count's k-means on the pieces'
eigenvectors as the labeller runs it (scipy's, :func:`tui.engine.clustering.kmeans`)
and as it ran before (scikit-learn's ``KMeans``, one greedy k-means++ start,
``random_state=0``), each in the same run.

``--steps 5,2.5`` hears every file with the segmentation's windows that many
seconds apart (each step cached in a folder of its own under ``--cache``) and
replays each, in the same run: what a finer step buys, and what it costs in
the hearing, which the run times.

``--rules current,in-context,alone,current@0.2`` replays the units' readings
as they are, in context only (as before unsure units were also read alone),
alone only (every unit on the grid read from its own 0.5 s alone), or with
another threshold of unsureness (:data:`tui.engine.builtin_diarizer.ALONE_BELOW`),
each in the same run; the alone readings of every unit are made once per
file and cached beside what was heard (``<file>.alone.pkl``).
``--rules current,hard-count,soft-count@0.5`` replays the count of who talks
per 10 ms as it is (the segmentation's expected number of speakers, n where
the windows' average is n - :data:`tui.engine.reconstruct.COUNT_ROUNDING` or
more), as it was before (each window's most likely class, halves up), and by
expected numbers with n counted at n - 0.5.
``--rules current,handover@0.3,handover@0.5`` replays the reconstruction
with two speakers active together for less than that many seconds, where one
hands over to the other, split at the middle (``handover-turn@0.8``: only
where the one taking over then talks alone for 1 s or more)
(:func:`handovers`; measured, not adopted: docs/speakers.md).
``--rules current,on-grid,held-by-any`` replays the unit rule as it is and
as it was before, each in the same run: ``on-grid`` with the 0.5 s units on
the window's grid only (no shifted units), ``held-by-any`` also with a unit
held off a speaker by any other local speaker of its window, talking in that
unit or not (docs/speakers.md, *The unit rule*).  Whole files also count
their manifests' interjections of 0.4 s or more kept: half their time or
more on the speaker that the one-to-one mapping of most shared time gives
their voice, as the test fixtures score them.  One torch thread, as the
pipeline's labeller runs.
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import inspect
import pickle
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_speakers import MORE_SETS, SETS, ders, load_set, voices_2s  # noqa: E402
from tui.engine import (  # noqa: E402
    builtin_diarizer,
    campplus,
    campplus_onnx,
    clustering,
    local_embeddings,
    reconstruct,
    segmentation,
    vad,
)
from tui.engine.diarize import DiarizationResult  # noqa: E402


def syntax(source: str) -> str:
    """``source``'s syntax tree, without its comments and docstrings."""
    parsed = ast.parse(textwrap.dedent(source))
    for node in ast.walk(parsed):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(parsed)


@functools.cache
def hearing_code() -> str:
    """A fingerprint of the code that hears a file: the syntax of the modules and
    functions :func:`tui.engine.builtin_diarizer.hear` runs, and the settings of the
    grid it hears with.  A cache heard by other code is heard again."""
    modules = (segmentation, local_embeddings, campplus, campplus_onnx, vad)
    # Of the reconstruction, only the grid's count and speech regions are heard with.
    grid = reconstruct.Grid
    parts = (
        builtin_diarizer.hear,
        grid.__init__,
        grid.count,
        grid.speech_regions,
        reconstruct._runs,
    )
    sources = [inspect.getsource(m) for m in (*modules, *parts)]
    settings = repr((reconstruct.COUNT_ROUNDING, reconstruct.JOIN_MS, reconstruct.PAD_MS))
    code = "\n".join([*(syntax(s) for s in sources), settings])
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def _cached(path: Path) -> Any:
    """What ``path`` keeps, where the code that made it is the code now (else None)."""
    if not path.exists():
        return None
    kept = pickle.loads(path.read_bytes())
    if isinstance(kept, dict) and kept.get("code") == hearing_code():
        return kept["value"]
    print(f"  {path.name}: heard by other code than now, heard again", file=sys.stderr)
    return None


def _keep(path: Path, value: object) -> None:
    """Cache ``value`` with the fingerprint of the code that made it, whole or not at all
    (another replay may read it at once)."""
    part = path.with_suffix(".part")
    part.write_bytes(pickle.dumps({"code": hearing_code(), "value": value}))
    part.replace(path)


def prepared(f: dict, cache: Path, step_s: float = segmentation.STEP_S) -> builtin_diarizer.Heard:
    """What the labeller's models hear in a file, windows ``step_s`` apart (computed once,
    then cached; another step than the labeller's is cached in a folder of its own)."""
    if step_s != segmentation.STEP_S:
        cache = cache / f"step{step_s:g}"
    path = cache / f"{f['set']}__{f['meta']['name']}.heard.pkl"
    heard = _cached(path)
    if heard is None:
        heard = builtin_diarizer.hear(f["audio"], step_s)
        cache.mkdir(parents=True, exist_ok=True)
        _keep(path, heard)
    # The grid is laid again as the code lays it now (cheap): one cached before a
    # change to the count would replay the count before.
    heard = replace(heard, grid=reconstruct.Grid(heard.seg, heard.duration_ms))
    v = heard.voices
    if v is not None and (v.units_alone is None or np.isnan(v.units_alone.vectors).any()):
        # Cached before the units were also read alone: read them alone now, once.
        from tui.engine.vad import gain

        more = path.with_name(path.name.replace(".heard.pkl", ".alone.pkl"))
        alone = _cached(more)
        if alone is None:
            alone = local_embeddings.units_alone(
                f["audio"], heard.seg, v.units, float(gain(f["audio"]))
            )
            _keep(more, alone)
        readings = local_embeddings.AloneReadings.made(v.units, alone)
        heard = replace(heard, voices=replace(v, units_alone=readings))
    return heard


def held_by_any(mapping: np.ndarray, voices, centroids: np.ndarray) -> np.ndarray:
    """The unit rule before: any other local speaker of the window holds its speaker
    (units on the grid only)."""
    units = voices.units
    out = np.repeat(mapping, local_embeddings.UNITS_PER_BLOCK, axis=2)
    if len(centroids) >= 2:
        best = np.argmax(units.vectors @ centroids.T, axis=1)
        for i in np.flatnonzero(units.clean_ms >= local_embeddings.MIN_ANY_MS):
            w, local, u = units.window[i], units.local[i], units.block[i]
            if out[w, local, u] >= 0 and best[i] != out[w, local, u]:
                if best[i] not in np.delete(out[w, :, u], local):
                    out[w, local, u] = best[i]
    return np.repeat(out, local_embeddings.CELLS_PER_UNIT, axis=2)


def on_grid(mapping: np.ndarray, voices, centroids: np.ndarray) -> np.ndarray:
    """The unit rule with the units on the window's grid only (no shifted units)."""
    none = local_embeddings._empty()
    on = replace(voices, shifted=none)
    return builtin_diarizer._unit_speakers(mapping, on, centroids)


RULES = {"held-by-any": held_by_any, "on-grid": on_grid}


#: Rules that change what is heard, not how it is placed: heard -> heard.
HEARD_RULES: dict = {
    # the units read in context only (the labelling before the alone readings)
    "in-context": lambda h: replace(h, voices=replace(h.voices, units_alone=None)),
    # the count of who talks before: each window's most likely class, halves up
    "hard-count": lambda h: replace(
        h, grid=reconstruct.Grid(replace(h.seg, expected=None), h.duration_ms, rounding=0.5)
    ),
    # the grid's units read alone only
    "alone": lambda h: replace(
        h,
        voices=replace(
            h.voices,
            units=replace(h.voices.units, vectors=h.voices.units_alone.vectors),
            units_alone=None,
        ),
    ),
}


def handovers(active: np.ndarray, shorter: int, goes_on: int = 0) -> np.ndarray:
    """``active`` with each stretch of two speakers shorter than ``shorter`` frames, where
    one hands over to the other, split at its middle (an interjection is kept: its
    speaker neither talks just before nor goes on just after); with ``goes_on``, only
    where the one taking over then talks alone for that many frames (a turn, not a reply)."""
    n = len(active)
    for a, b in reconstruct._runs(active.sum(axis=1) == 2) if shorter > 0 else []:
        if b - a >= shorter or a == 0 or b >= n:
            continue
        both = np.flatnonzero(active[a:b].all(axis=0))
        if len(both) != 2:
            continue
        before, after = active[a - 1], active[b]
        for first, second in (both, both[::-1]):
            if not (before[first] and not before[second] and after[second] and not after[first]):
                continue
            then = active[b : b + goes_on]  # the one taking over, alone for goes_on frames
            if len(then) == goes_on and then[:, second].all() and then.sum() == goes_on:
                middle = (a + b) // 2
                active[middle:b, first] = False
                active[a:middle, second] = False
            break
    return active


def with_handovers(seconds: float, goes_on_s: float = 0.0) -> None:
    """The reconstruction as it is, then :func:`handovers` under ``seconds`` (0: as it is)."""
    frames = int(1000 * seconds) // reconstruct.FRAME_MS
    goes_on = int(1000 * goes_on_s) // reconstruct.FRAME_MS

    def speakers(grid: reconstruct.Grid, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        active, score = SPEAKERS(grid, *args, **kwargs)
        return handovers(active, frames, goes_on), score

    reconstruct.Grid.speakers = speakers if frames else SPEAKERS  # type: ignore[method-assign]


SPEAKERS = reconstruct.Grid.speakers


def sklearn_kmeans(points: np.ndarray, k: int) -> np.ndarray:
    """The count's k-means before: scikit-learn's (installed with senko)."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=0).fit_predict(points)


KMEANS = {"scipy": clustering.kmeans, "sklearn": sklearn_kmeans}


def labelled(
    heard: builtin_diarizer.Heard,
    rule=None,
    count: int | None = None,
    step_s: float = segmentation.STEP_S,
) -> DiarizationResult:
    """What the labeller would give, with the user's ``count`` or without one (and without words)."""
    return builtin_diarizer.label(heard, step_s, num_speakers=count, unit_rule=rule).with_words([])


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


def _excerpts(files: list[dict], seconds: float) -> list[dict]:
    """Each file cut into consecutive ``seconds``-long excerpts, the reference cropped to each."""
    out = []
    n = int(round(seconds * segmentation.SAMPLE_RATE))
    for f in files:
        for k in range(len(f["audio"]) // n):
            a, b = k * seconds, (k + 1) * seconds
            turns = [
                (max(s, a) - a, min(e, b) - a, spk) for s, e, spk in f["turns"] if e > a and s < b
            ]
            # The length in the name: the cache keeps excerpts of every length apart.
            meta = {**f["meta"], "name": f"{f['meta']['name']}_x{seconds:g}s{k}"}
            audio = f["audio"][k * n : (k + 1) * n]
            out.append({**f, "meta": meta, "audio": audio, "turns": turns, "excerpt": True})
    return [f for f in out if voices_2s(f["turns"])]


def _floats(text: str) -> list[float]:
    """``"0.40,0.45"`` -> [0.4, 0.45]."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not numbers: {text!r} (e.g. 0.40,0.45)") from None


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tune")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".evaldata"
    )
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--files", default="")
    parser.add_argument(
        "--rules", default="current", help="unit rules to replay: current,on-grid,held-by-any"
    )
    parser.add_argument(
        "--quiet", default="", type=_levels, help="also each file this many dB down: 20,40"
    )
    parser.add_argument("--excerpts", type=float, help="cut every file into excerpts this long (s)")
    parser.add_argument(
        "--thresholds", type=_floats, help="replay at each linkage threshold: 0.40,0.45"
    )
    parser.add_argument(
        "--least", type=_floats, help="replay at each linkage speaker's least ms: 1000,3000"
    )
    parser.add_argument(
        "--counts",
        default="estimated",
        help="estimated (no user's count), given (the reference's count as --speakers), or both",
    )
    parser.add_argument(
        "--kmeans", default="scipy", help="the count's k-means to replay: scipy,sklearn"
    )
    parser.add_argument(
        "--steps",
        type=_floats,
        help=f"the segmentation's window steps to hear and replay (s): {segmentation.STEP_S:g},2.5",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = args.cache or args.data / "replay"
    only = set(args.files.split(",")) if args.files else None
    grid = bool(args.thresholds or args.least)
    rules = args.rules.split(",")
    known = ("current", "soft-count", "handover", "handover-turn", *RULES, *HEARD_RULES)
    if unknown := [r for r in rules if r.split("@")[0] not in known]:
        sys.exit(
            f"no unit rule {unknown[0]!r}: one of {', '.join(known)}"
            " (current@0.2: another ALONE_BELOW; soft-count@0.5: another COUNT_ROUNDING;"
            " handover@0.5: handovers under 0.5 s split)"
        )
    counts = args.counts.split(",")
    if unknown := [c for c in counts if c not in ("estimated", "given")]:
        sys.exit(f"no count {unknown[0]!r}: estimated or given")
    means = args.kmeans.split(",")
    if unknown := [m for m in means if m not in KMEANS]:
        sys.exit(f"no k-means {unknown[0]!r}: {' or '.join(KMEANS)}")
    steps = args.steps or [segmentation.STEP_S]
    grid = grid or len(rules) > 1 or len(counts) > 1 or len(means) > 1 or len(steps) > 1
    settings = [
        (threshold, int(least), rule, count, mean, step)
        for step in steps
        for least in (args.least or [clustering.LINKAGE_MIN_SPEAKER_MS])
        for threshold in (args.thresholds or [clustering.THRESHOLD])
        for rule in rules
        for count in counts
        for mean in means
    ]
    rows: list[dict] = []
    default_below = builtin_diarizer.ALONE_BELOW
    heard_cpu: dict[float, float] = {}  # CPU s spent hearing (0 for files from the cache)
    for name in args.sets.split(","):
        if name not in (*SETS, *MORE_SETS):
            sys.exit(f"no set {name!r}: one of {', '.join((*SETS, *MORE_SETS))}")
        files = load_set(args.data, name, only)
        if args.excerpts:
            files = _excerpts(files, args.excerpts)
        for f in _with_quiet(files, args.quiet):
            heards = {}
            for step in steps:
                began = time.process_time()
                heards[step] = prepared(f, cache, step)
                heard_cpu[step] = heard_cpu.get(step, 0.0) + time.process_time() - began
            ref = voices_2s(f["turns"]) if f.get("excerpt") else len({s for *_, s in f["turns"]})
            for setting in settings:
                threshold, least, rule, count, mean, step = setting
                clustering.THRESHOLD, clustering.LINKAGE_MIN_SPEAKER_MS = threshold, least
                clustering.kmeans = KMEANS[mean]
                heard = heards[step]
                # "current@0.3": grid units read alone where less sure than 0.3
                base, _, below = rule.partition("@")
                if base == "soft-count":
                    # "soft-count@0.6": n talk where the windows' average is n - 0.6 or more
                    at = float(below) if below else reconstruct.COUNT_ROUNDING
                    heard = replace(heard, grid=reconstruct.Grid(heard.seg, heard.duration_ms, at))
                    below = ""
                # "handover@0.5": two speakers under 0.5 s where one hands over, split
                # "handover-turn@0.8": the same where the one taking over goes on 1 s alone
                split = base in ("handover", "handover-turn")
                with_handovers(float(below or 0) if split else 0, 1.0 * (base == "handover-turn"))
                if split:
                    below = ""
                builtin_diarizer.ALONE_BELOW = float(below) if below else default_below
                if base in HEARD_RULES and heard.voices is not None:
                    heard = HEARD_RULES[base](heard)
                pieces = 0 if heard.voices is None else len(heard.voices.pieces)
                given = ref if count == "given" else None
                result = labelled(heard, RULES.get(base), given, step)
                hyp = [(g.start_ms / 1000, g.end_ms / 1000, g.speaker) for g in result.segments]
                found = len({s for *_, s in hyp})
                der = ders(f["turns"], hyp)["der"]
                kept = (0, 0) if f.get("excerpt") else interjections_kept(f, result)
                rows.append(
                    {
                        "set": name,
                        "setting": setting,
                        "der": der,
                        "right": ref == found,
                        "linkage": pieces < clustering.COUNT_MIN_PIECES_ESTIMATE,
                        "kept": kept,
                    }
                )
                print(
                    f"{name:12} {f['meta']['name']:26} {pieces:4d} pieces  ref {ref} "
                    f"found {found}  DER {100 * der:5.1f} %"
                    + (f"  interjections {kept[0]}/{kept[1]}" if kept[1] else "")
                    + (f"  ({_setting(setting)})" if grid else "")
                )
    if len(steps) > 1:
        print(
            "== hearing (files not in the cache): "
            + ", ".join(f"step {step:g} s {cpu:.1f} CPU s" for step, cpu in heard_cpu.items())
        )
    for setting in settings:
        mine = [r for r in rows if r["setting"] == setting]
        groups = [(name, [r for r in mine if r["set"] == name]) for name in args.sets.split(",")]
        if len(groups) > 1:
            groups.append(("all", mine))
        if grid:
            groups += [
                ("linkage-counted", [r for r in mine if r["linkage"]]),
                ("eigengap-counted", [r for r in mine if not r["linkage"]]),
                ("short calls", [r for r in mine if r["set"].startswith("tune_calls")]),
            ]
        for label, part in groups:
            if part:
                print(
                    (f"== {_setting(setting)} " if grid else "== ")
                    + f"{label}: DER {100 * np.mean([r['der'] for r in part]):.2f} %, "
                    f"count right {sum(r['right'] for r in part)} of {len(part)}, "
                    f"interjections kept {sum(r['kept'][0] for r in part)}"
                    f" of {sum(r['kept'][1] for r in part)}"
                )


def interjections_kept(f: dict, result: DiarizationResult) -> tuple[int, int]:
    """(kept, all) of the file's interjections of 0.4 s or more (its manifest's events),
    scored by the test fixtures' own functions (tests/diarize/scoring.py)."""
    from tests.diarize.scoring import mapping, speaker_share

    def ms(s: float) -> int:
        return round(s * 1000)

    events = [
        e for e in f["meta"].get("events", []) if e[3] == "interjection" and e[1] - e[0] >= 0.4
    ]
    if not events:
        return 0, 0
    to_found = mapping([(ms(a), ms(b), who) for a, b, who in f["turns"]], result)
    kept = sum(
        speaker_share(result, ms(a), ms(b), to_found.get(who, -1)) >= 0.5 for a, b, who, _ in events
    )
    return kept, len(events)


def _setting(setting: tuple[float, int, str, str, str, float]) -> str:
    threshold, least, rule, count, mean, step = setting
    return (
        f"threshold {threshold:.2f} least {least} ms units {rule} count {count} "
        f"k-means {mean} step {step:g} s"
    )


if __name__ == "__main__":
    main()

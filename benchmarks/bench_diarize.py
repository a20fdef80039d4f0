"""Speaker-labelling benchmark on real conversations (benchmarks/conversations.py).

For every conversation: reference and found speaker count, DER
(pyannote.metrics, collar 0.25 s, overlap skipped) and the time diarization
takes next to the ASR time of the default model (tiny.en, faster-whisper with
word timestamps and its VAD) on the same audio, as a ratio.  The diarizer gets
the ASR's words, exactly as the pipeline calls it, and runs its own VAD.

    python benchmarks/bench_diarize.py                # six evaluation conversations + 20 min
    python benchmarks/bench_diarize.py --no-long      # without the 20-minute one
    python benchmarks/bench_diarize.py --set tuning --no-asr
                                                      # (with two 20-minute tuning ones)
                                                      # what thresholds were chosen on
    (the glued set: a regression check only; same-room figures: docs/speakers.md)

The 20-minute conversation is also cut at turn gaps into 5-minute parts,
each labelled on its own, to show the long file is labelled as well as its parts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.conversations import (  # noqa: E402
    BENCHMARK,
    EXTRA,
    LONG,
    SR,
    TUNING_LONG,
    TUNING_SET,
    Conversation,
    build,
    load_clips,
)
from tui.engine.diarize import DiarizationResult, get_diarizer  # noqa: E402
from tui.engine.script import Word  # noqa: E402


def der(conv: Conversation, result: DiarizationResult, offset_ms: int = 0) -> tuple[float, dict]:
    """DER (collar 0.25 s, overlap skipped) of a result against the reference turns."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for s, e, who in conv.turns:
        ref[Segment((s - offset_ms) / 1000, (e - offset_ms) / 1000)] = who
    for g in result.segments:
        hyp[Segment(g.start_ms / 1000, g.end_ms / 1000)] = f"S{g.speaker}"
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=True)
    detail = metric(ref, hyp, detailed=True)
    return float(detail["diarization error rate"]), detail


def asr(audio: np.ndarray) -> tuple[list[Word], list[tuple[int, int]], float]:
    """Words and speech regions as the default pipeline gets them, and the ASR seconds.

    VAD runs first (shared by ASR and diarizer in the pipeline, so counted for
    neither); the ASR time is tiny.en's recognition, as ``transcribe_file`` runs it.
    """
    from tui.engine import transcribe

    speech = transcribe.speech_regions(audio)
    start = time.perf_counter()
    words = transcribe.recognise(audio, speech, device="cpu").words
    return words, speech, time.perf_counter() - start


def load_models(with_asr: bool, diarizer: str) -> None:
    """Load both models once, as a long-running process would, and print what that costs.

    Neither load is in the per-file times below, so the ratio compares work
    with work; a one-shot CLI run pays both loads once on top.
    """
    start = time.perf_counter()
    if with_asr:
        from tui.engine import transcribe

        transcribe.load_model(None, "cpu")
    asr_load = time.perf_counter() - start
    start = time.perf_counter()
    # imports torch: part of the encoder's cost; reads the weights; one window
    get_diarizer(diarizer).diarize(np.zeros(SR * 2, np.float32), [], speech=[(0, 2000)])
    dia_load = time.perf_counter() - start
    print(
        f"one-time loads: ASR model {asr_load:.1f} s, "
        f"speaker encoder (torch import included) {dia_load:.1f} s"
    )


def run_one(conv: Conversation, with_asr: bool, diarizer: str = "builtin") -> dict:
    if with_asr:
        words, speech, asr_s = asr(conv.audio)
    else:
        words, speech, asr_s = [], None, float("nan")
    start = time.perf_counter()
    result = get_diarizer(diarizer).diarize(conv.audio, words, speech=speech)
    dia_s = time.perf_counter() - start
    rate, _ = der(conv, result)
    return {
        "name": conv.name,
        "minutes": len(conv.audio) / SR / 60,
        "ref": len({t[2] for t in conv.turns}),
        "found": result.num_speakers,
        "der": rate,
        "asr_s": asr_s,
        "dia_s": dia_s,
        "repeats": conv.repeats,
    }


def parts(conv: Conversation, minutes: float = 5.0) -> list[Conversation]:
    """The conversation cut at the turn gaps nearest every ``minutes``."""
    cuts = [0]
    ends = sorted({e for _, e, _ in conv.turns})
    total = len(conv.audio) * 1000 // SR
    target = minutes * 60000
    while cuts[-1] + target * 1.5 < total:
        want = cuts[-1] + target
        # a cut point where no turn is running
        free = [e for e in ends if not any(s < e < t for s, t, _ in conv.turns) and e > cuts[-1]]
        cuts.append(min(free, key=lambda e: abs(e - want)))
    cuts.append(total)
    out = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        turns = [(s, e, w) for s, e, w in conv.turns if a <= s and e <= b]
        audio = conv.audio[a * SR // 1000 : b * SR // 1000]
        shifted = [(s - a, e - a, w) for s, e, w in turns]
        out.append(Conversation(f"{conv.name}/part{i + 1}", audio, shifted, conv.repeats))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("evaluation", "tuning"), default="evaluation")
    parser.add_argument("--no-asr", action="store_true", help="skip ASR (no words, no ratio)")
    parser.add_argument("--no-long", action="store_true", help="skip the 20-minute conversations")
    parser.add_argument("--diarizer", choices=("builtin", "pyannote", "none"), default="builtin")
    args = parser.parse_args()
    clips = load_clips()
    specs = BENCHMARK + EXTRA if args.set == "evaluation" else TUNING_SET
    load_models(not args.no_asr, args.diarizer)
    print(
        f"{'conversation':28} {'min':>5} {'ref':>3} {'found':>5} {'DER %':>6} "
        f"{'ASR s':>6} {'diar s':>6} {'ratio':>6}"
    )
    rows = []
    for spec in specs:
        row = run_one(build(spec, clips), not args.no_asr, args.diarizer)
        rows.append(row)
        _print(row)
    main_rows = rows[: len(BENCHMARK)] if args.set == "evaluation" else rows
    ders = [r["der"] for r in main_rows]
    right = sum(r["ref"] == r["found"] for r in main_rows)
    print(
        f"mean DER {100 * np.mean(ders):.1f} %, count right on {right} of {len(main_rows)}, "
        f"diarization/ASR time {sum(r['dia_s'] for r in rows) / sum(r['asr_s'] for r in rows):.2f}"
    )
    if args.no_long:
        return
    for spec in (LONG,) if args.set == "evaluation" else TUNING_LONG:
        conv = build(spec, clips)
        whole = run_one(conv, not args.no_asr, args.diarizer)
        _print(whole)
        part_rows = [run_one(p, not args.no_asr, args.diarizer) for p in parts(conv)]
        for row in part_rows:
            _print(row)
        weights = [r["minutes"] for r in part_rows]
        mean_parts = float(np.average([r["der"] for r in part_rows], weights=weights))
        print(
            f"20-minute DER {100 * whole['der']:.1f} % vs its parts {100 * mean_parts:.1f} % "
            f"(turns reusing audio: {conv.repeats})"
        )


def _print(row: dict) -> None:
    ratio = row["dia_s"] / row["asr_s"] if row["asr_s"] == row["asr_s"] else float("nan")
    print(
        f"{row['name']:28} {row['minutes']:5.1f} {row['ref']:3d} {row['found']:5d} "
        f"{100 * row['der']:6.1f} {row['asr_s']:6.1f} {row['dia_s']:6.1f} {ratio:6.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()

"""CAM++ embedding speed: batched, masked trunk against one stretch at a time.

    python benchmarks/bench_campplus.py

On the six evaluation conversations (benchmarks/conversations.py), the
stretches and windows the diarizer embeds (its VAD regions and short
stretches) are embedded three ways, each after a warm-up, in the same run:

* baseline: every stretch alone through the model's own forward, float32, on
  one thread (how tui/engine/campplus.py ran until the batching);
* batched float32: zero-padded batches through the masked trunk, all threads;
* batched, precision "auto" (bfloat16 where the CPU runs it natively).

Printed: seconds per way, the ratio to the baseline, and how far each way's
embeddings are from the baseline's (cosine: least and 1st percentile; change
of a window-pair similarity: 99th percentile and largest).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.conversations import BENCHMARK, build, load_clips  # noqa: E402
from tui.engine import builtin_diarizer, campplus, transcribe  # noqa: E402
from tui.engine.builtin_diarizer import Batch  # noqa: E402
from tui.engine.speakers import one_thread  # noqa: E402


def diarizer_batches() -> tuple[list[Batch], float]:
    """What the diarizer hands the encoder on each conversation, and the minutes of audio."""
    clips = load_clips()
    captured: list[Batch] = []

    def capture(batch: Batch) -> np.ndarray:
        captured.append(batch)
        return campplus.embed_batch(batch)

    encoder = dataclasses.replace(builtin_diarizer.CAMPLUSPLUS, embed=capture)
    minutes = 0.0
    for spec in BENCHMARK:
        conv = build(spec, clips)
        minutes += len(conv.audio) / 16000 / 60
        speech = transcribe.speech_regions(conv.audio)
        builtin_diarizer.BuiltinDiarizer(encoder).diarize(conv.audio, [], speech=speech)
    return [b for b in captured if b], minutes


def one_at_a_time(batch: Batch) -> np.ndarray:
    """The baseline: each stretch alone through the model's own forward, one thread, float32."""
    net = campplus.get_model()
    stats = []
    with one_thread(), torch.inference_mode():
        for feats, spans in batch:
            pieces = [campplus.long_enough(p) for p in campplus.normalised_pieces(feats)]
            trunk = torch.cat([campplus.trunk_alone(net, p) for p in pieces], dim=-1)
            stats += campplus.window_stats(net, trunk, spans)
        vectors = net.get_submodule("xvector.dense")(torch.stack(stats)).numpy()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def batched(precision: str):
    def run(batch: Batch) -> np.ndarray:
        campplus.PRECISION = precision
        return campplus.embed_batch(batch)

    return run


def main() -> None:
    batches, minutes = diarizer_batches()
    frames = sum(len(f) for b in batches for f, _ in b)
    print(
        f"{len(batches)} conversations, {minutes:.1f} min of audio, "
        f"{frames / 100 / 60:.1f} min of stretches through the trunk; "
        f"torch threads {torch.get_num_threads()}, bfloat16 native: {campplus._bf16_native()}"
    )
    ways = {
        "one stretch at a time, float32, 1 thread": one_at_a_time,
        "batched, float32": batched("float32"),
        "batched, auto precision": batched("auto"),
    }
    for way in ways.values():
        way(batches[0][:3])  # warm-up: weights, copies, first calls
    seconds = {name: 0.0 for name in ways}
    results: dict[str, list[np.ndarray]] = {name: [] for name in ways}
    for batch in batches:  # interleaved, so that a busy moment hits every way alike
        for name, way in ways.items():
            start = time.perf_counter()
            results[name].append(way(batch))
            seconds[name] += time.perf_counter() - start
    base_name = next(iter(ways))
    base = results[base_name]
    print(
        f"{'way':42} {'seconds':>8} {'ratio':>6} {'cos: min':>8} {'1st pct':>7} "
        f"{'|d sim|: p99':>12} {'max':>6}"
    )
    for name in ways:
        pairs = list(zip(base, results[name], strict=True))
        cos = np.concatenate([np.sum(a * b, axis=1) for a, b in pairs])
        dsim = np.concatenate(
            [np.abs(a @ a.T - b @ b.T)[np.triu_indices(len(a), 1)] for a, b in pairs]
        )
        print(
            f"{name:42} {seconds[name]:8.2f} {seconds[name] / seconds[base_name]:6.2f} "
            f"{cos.min():8.4f} {np.percentile(cos, 1):7.4f} "
            f"{np.percentile(dsim, 99):12.4f} {dsim.max():6.4f}"
        )


if __name__ == "__main__":
    main()

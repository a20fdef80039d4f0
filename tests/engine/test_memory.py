"""Freed memory goes back to the system between the pipeline's stages (glibc's malloc_trim).

The pipeline's peak on long files is measured by benchmarks/bench_pipeline.py
(docs/transcribe.md); here only that the call really hands pages back.
"""

from __future__ import annotations

from tui.engine.memory import release_freed


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_freed_heap_memory_goes_back_to_the_system() -> None:
    # 200 MB in 64 KB blocks, from the heap (under glibc's mmap threshold): freed, they
    # stay with the process, since the last block, still held, pins the heap's top.
    blocks = [bytes(64 * 1024 - 64) for _ in range(3200)]
    last = bytes(64 * 1024 - 64)
    del blocks
    held = _rss_mb()
    release_freed()
    assert held - _rss_mb() > 100
    assert len(last)

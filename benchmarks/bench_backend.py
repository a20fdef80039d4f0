"""Backend benchmark: health latency under load, and upload throughput, each against a baseline.

Starts a real backend (``reelscript serve`` on loopback, its own data dir) and measures:

1. ``/api/health`` latency while idle (baseline) and while N clients at once
   upload a file and stream a script job each (three of them real speech, so
   ASR runs in the worker meanwhile); the ratio loaded/idle.
2. Upload throughput of one large WAV through :class:`tui.client.http.Client`
   (multipart, streamed, hashed, probed, stored) against copying the same
   file on the same disk (baseline); the ratio.

    python benchmarks/bench_backend.py                 # 20 clients, 200 MB upload
    python benchmarks/bench_backend.py --clients 10 --upload-mb 50
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backend.media import make_video  # noqa: E402
from tui.client.http import Client  # noqa: E402
from tui.client.local_server import start_or_reuse  # noqa: E402

EXTRACT = "extract a full written script from this video with speaker labels"


def probe_health(
    url: str, seconds: float | None, stop: threading.Event | None = None
) -> list[float]:
    """Health latencies (s), one request every 50 ms, for ``seconds`` or until ``stop``."""
    times: list[float] = []
    end = time.monotonic() + (seconds or 1e9)
    with httpx.Client(timeout=10) as http:
        while time.monotonic() < end and not (stop and stop.is_set()):
            start = time.perf_counter()
            http.get(f"{url}/api/health").raise_for_status()
            times.append(time.perf_counter() - start)
            time.sleep(0.05)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


async def one_client(url: str, folder: Path, video: Path) -> int:
    async with Client(url, token_file=folder / "token.json", platform="cli") as api:
        sid = (await api.create_session()).session_id
        await api.upload_files(sid, [video])
        return len([e async for e in api.run_sse(sid, EXTRACT)])


def make_wav(path: Path, megabytes: int) -> Path:
    frames = megabytes * 1024 * 1024 // 2
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        for start in range(0, frames, 1 << 20):
            count = min(1 << 20, frames - start)
            out.writeframes((rng.normal(0, 300, count)).astype(np.int16).tobytes())
    return path


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--upload-mb", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backend-"))
    server = start_or_reuse(work / "data")
    try:
        time.sleep(3)  # let the worker finish loading its model
        idle = summary(probe_health(server.url, 5.0))
        speech = ROOT / "tests" / "data" / "demo.mp4"
        tone = make_video(work / "tone.mp4", seconds=2.0)
        stop = threading.Event()
        loaded_times: list[float] = []
        prober = threading.Thread(
            target=lambda: loaded_times.extend(probe_health(server.url, None, stop))
        )
        prober.start()
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(
                one_client(server.url, work / f"c{i}", speech if i < 3 else tone)
                for i in range(args.clients)
            )
        )
        elapsed = time.perf_counter() - started
        stop.set()
        prober.join()
        loaded = summary(loaded_times)
        print(f"{args.clients} clients, {sum(counts)} events, all streams done in {elapsed:.1f} s")
        print("| health | n | median ms | p95 ms | max ms |\n|---|---|---|---|---|")
        for name, row in (("idle (baseline)", idle), (f"{args.clients} clients + ASR", loaded)):
            print(
                f"| {name} | {row['n']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} | {row['max_ms']:.1f} |"
            )
        print(
            f"ratio loaded/idle: median {loaded['median_ms'] / idle['median_ms']:.1f}x, p95 {loaded['p95_ms'] / idle['p95_ms']:.1f}x"
        )

        big = make_wav(work / "big.wav", args.upload_mb)
        size_mb = big.stat().st_size / 1e6
        start = time.perf_counter()
        shutil.copyfile(big, work / "copy.wav")
        copy_s = time.perf_counter() - start
        (work / "copy.wav").unlink()
        async with Client(server.url, token_file=work / "up.json", platform="cli") as api:
            sid = (await api.create_session()).session_id
            start = time.perf_counter()
            [info] = await api.upload_files(sid, [big])
            upload_s = time.perf_counter() - start
        assert info["size"] == big.stat().st_size
        print(
            f"upload {size_mb:.0f} MB: {size_mb / upload_s:.0f} MB/s through the API; "
            f"file copy (baseline) {size_mb / copy_s:.0f} MB/s; ratio {upload_s / copy_s:.1f}x the copy time"
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Team mode on loopback: throughput through 1 and 2 workers, latency, takeover, cancel.

Starts a PostgreSQL database and a Redis namespace of its own (the services
of docs/team.md must be running), two API processes and one, then two,
``reelscript worker`` processes, and measures:

- jobs per minute for the same batch (``--jobs`` sessions, one clip each,
  all submitted at once through the two API processes in turn),
- p50/p95 from the start of the upload to the script's "ready" event,
- ``/api/health`` latency (p50/p95) while the batch runs,
- the delay of an event on a stream opened on the *other* API process
  (receipt time minus the event's commit time, NOTIFY-woken),
- kill -9 of the worker running a job -> the job running again elsewhere,
- cancel through the other API -> the job cancelled.

    python benchmarks/bench_team.py --jobs 8 --clip tests/data/demo.mp4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backend.conftest import EXTRACT  # noqa: E402
from tests.live_server import NO_ADDRESS_LIMITS, LiveServer  # noqa: E402
from tests.team_services import FAST, Services, Worker, team_args, wait_workers  # noqa: E402
from tui.client.http import Client  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def one_job(url: str, token: Path, clip: Path, stream_url: str | None = None) -> float:
    """Upload -> script ready, in seconds."""
    async with Client(url, token_file=token, platform="cli") as api:
        started = time.monotonic()
        session = await api.create_session(language="en")
        await api.upload_files(session.session_id, [clip])
        async for event in api.run_sse(session.session_id, EXTRACT):
            if event.kind == "message" and "ready" in (event.text or ""):
                return time.monotonic() - started
    raise RuntimeError("the job did not complete")


async def health_latency(url: str, stop: asyncio.Event) -> list[float]:
    took = []
    async with httpx.AsyncClient(timeout=10) as http:
        while not stop.is_set():
            t = time.monotonic()
            await http.get(f"{url}/api/health")
            took.append(time.monotonic() - t)
            await asyncio.sleep(0.2)
    return took


async def batch(urls: list[str], token: Path, clip: Path, jobs: int) -> dict[str, float]:
    stop = asyncio.Event()
    health = asyncio.create_task(health_latency(urls[1], stop))
    started = time.monotonic()
    times = await asyncio.gather(*(one_job(urls[i % 2], token, clip) for i in range(jobs)))
    wall = time.monotonic() - started
    stop.set()
    latency = await health
    return {
        "jobs_per_min": jobs / wall * 60,
        "p50": pct(times, 0.5),
        "p95": pct(times, 0.95),
        "health_p50_ms": pct(latency, 0.5) * 1000,
        "health_p95_ms": pct(latency, 0.95) * 1000,
    }


async def cross_stream_delay(services: Services, urls: list[str], token: Path, clip: Path) -> float:
    """Median delay of an event started through A and read on B's stream."""
    import psycopg

    delays: list[float] = []
    async with Client(urls[0], token_file=token) as a, Client(urls[1], token_file=token) as b:
        session = await a.create_session(language="en")
        await a.upload_files(session.session_id, [clip])
        through_a = a.run_sse(session.session_id, EXTRACT)
        first = await anext(through_a)
        with psycopg.connect(services.database) as db:
            async for event in b.run_sse(session.session_id, "", last_event_id=first.id):
                if event.kind == "heartbeat" or not event.id:
                    continue
                received = time.time()
                [(created,)] = db.execute(
                    "SELECT created_at FROM events WHERE seq=%s", (int(event.id),)
                ).fetchall()
                db.rollback()
                delays.append(received - created)
        async for _ in through_a:
            pass
    return statistics.median(delays)


def job_of(services: Services, session_id: str) -> str | None:
    import psycopg

    with psycopg.connect(services.database) as db:
        rows = db.execute("SELECT id FROM jobs WHERE session_id=%s", (session_id,)).fetchall()
    return rows[0][0] if rows else None


def status(services: Services, job_id: str) -> tuple[str, int, str | None]:
    import psycopg

    with psycopg.connect(services.database) as db:
        [row] = db.execute(
            "SELECT j.status, j.attempts, n.pid FROM jobs j LEFT JOIN nodes n ON n.id=j.worker"
            " WHERE j.id=%s",
            (job_id,),
        ).fetchall()
    return row[0], row[1], row[2]


async def started_job(url: str, token: Path, clip: Path, services: Services):  # type: ignore[no-untyped-def]
    api = Client(url, token_file=token)
    session = await api.create_session(language="en")
    await api.upload_files(session.session_id, [clip])

    async def drain() -> None:
        async for _ in api.run_sse(session.session_id, EXTRACT):
            pass

    task = asyncio.create_task(drain())
    while (job_id := job_of(services, session.session_id)) is None:
        await asyncio.sleep(0.02)
    while status(services, job_id)[0] != "running":
        await asyncio.sleep(0.02)
    return api, job_id, task


async def takeover(
    services: Services, urls: list[str], token: Path, clip: Path, workers: list[Worker]
) -> float:
    api, job_id, task = await started_job(urls[0], token, clip, services)
    _, _, pid = status(services, job_id)
    victim = next(w for w in workers if w.pid == pid)
    killed = time.monotonic()
    victim.kill()
    while status(services, job_id)[:2] != ("running", 2):
        await asyncio.sleep(0.02)
    again = time.monotonic() - killed
    await task
    await api.aclose()
    return again


async def cancel(services: Services, urls: list[str], token: Path, clip: Path) -> float:
    api, job_id, task = await started_job(urls[0], token, clip, services)
    async with Client(urls[1], token_file=token) as b:
        asked = time.monotonic()
        await b.cancel_job(job_id)
        while status(services, job_id)[0] != "cancelled":
            await asyncio.sleep(0.02)
        took = time.monotonic() - asked
    await task
    await api.aclose()
    return took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--clip", type=Path, default=ROOT / "tests/data/demo.mp4")
    parser.add_argument("--diarizer", default="builtin", help="the workers' speaker labels")
    parser.add_argument("--lease", type=float, default=5.0, help="lease seconds (production: 30)")
    args = parser.parse_args()
    FAST["REELSCRIPT_LEASE_S"] = str(args.lease)
    folder = Path(tempfile.mkdtemp(prefix="bench-team-"))
    services = Services()
    storage = folder / "storage"
    shared = team_args(services, storage)
    limits = [item for pair in NO_ADDRESS_LIMITS.items() for item in pair]
    apis, workers = [], []
    try:
        for index in range(2):
            data = folder / f"api-{index}"
            data.mkdir()
            server = LiveServer(
                data, [*limits, "--starting-credits", "unlimited", *shared], dict(FAST)
            )
            apis.append(server.start())
        urls = [a.url for a in apis]
        token = folder / "token.json"
        labels = [*shared, "--diarizer", args.diarizer]
        workers.append(Worker(labels, folder / "worker-0.log").start())
        wait_workers(urls[0], 1)
        await one_job(urls[0], token, args.clip)  # warm-up (first-job costs out of the figures)
        rows = {1: await batch(urls, token, args.clip, args.jobs)}
        workers.append(Worker(labels, folder / "worker-1.log").start())
        wait_workers(urls[0], 2)
        rows[2] = await batch(urls, token, args.clip, args.jobs)
        delay = await cross_stream_delay(services, urls, token, args.clip)
        again = await takeover(services, urls, token, args.clip, workers)
        stopped = await cancel(services, urls, token, args.clip)
    finally:
        for api in apis:
            api.stop()
        for worker in workers:
            worker.stop()
        services.drop()
    print(
        f"{args.jobs} jobs of {args.clip.name}, 2 API processes, lease {FAST['REELSCRIPT_LEASE_S']} s"
    )
    print("| workers | jobs/min | upload->script p50 | p95 | health p50 | health p95 |")
    print("|---|---|---|---|---|---|")
    for count, row in rows.items():
        print(f"| {count} | {row['jobs_per_min']:.1f} | {row['p50']:.1f} s | {row['p95']:.1f} s |"
              f" {row['health_p50_ms']:.1f} ms | {row['health_p95_ms']:.1f} ms |")  # fmt: skip
    print(f"event on the other API's stream: median {delay * 1000:.0f} ms after its commit")
    print(f"kill -9 of a worker mid-job -> running again on the other: {again:.1f} s")
    print(f"cancel through the other API -> cancelled: {stopped:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())

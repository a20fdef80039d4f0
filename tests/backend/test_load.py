"""20 clients at once, each uploading and streaming a job: every stream gets every event.

The health latency while this runs is measured and printed (see
benchmarks/backend_load.py for the recorded numbers); only correctness is
asserted, since timings on a shared 2-core machine are not a test.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path

import httpx

from tests.backend.conftest import EXTRACT, db
from tests.live_server import LiveServer
from tui.client.http import Client, Event

CLIENTS = 20
#: This many of them send real speech (ASR runs while health is probed); the rest a tone.
SPEAKING = 3


class HealthProbe(threading.Thread):
    """Asks /api/health every 50 ms from its own thread, timing each answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.times, self.failures = url, [], 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.wait(0.05):
                start = time.perf_counter()
                response = http.get(f"{self.url}/api/health")
                self.times.append(time.perf_counter() - start)
                self.failures += response.status_code != 200


async def one_client(url: str, folder: Path, video: Path) -> tuple[str, list[Event]]:
    async with Client(url, token_file=folder / "token.json", platform="cli") as api:
        sid = (await api.create_session()).session_id
        await api.upload_files(sid, [video])
        return sid, [e async for e in api.run_sse(sid, EXTRACT)]


async def test_twenty_clients_every_stream_gets_every_event(
    live_server: LiveServer, media, speech_video: Path, tmp_path: Path
) -> None:
    probe = HealthProbe(live_server.url)
    probe.start()
    started = time.perf_counter()
    try:
        results = await asyncio.gather(
            *(
                one_client(
                    live_server.url,
                    tmp_path / f"c{i}",
                    speech_video if i < SPEAKING else media["tone"],
                )
                for i in range(CLIENTS)
            )
        )
    finally:
        probe.stop.set()
        probe.join()
    elapsed = time.perf_counter() - started
    with db(live_server) as conn:
        for sid, events in results:
            [invocation] = conn.execute(
                "SELECT id FROM invocations WHERE session_id=?", (sid,)
            ).fetchall()
            stored = conn.execute(
                "SELECT seq, kind FROM events WHERE invocation_id=? ORDER BY seq", (invocation[0],)
            ).fetchall()
            got = [(int(e.id), e.kind) for e in events if e.kind != "heartbeat"]
            assert got == [(s, k) for s, k in stored]  # every event, once, in order
            assert events[-1].function_responses[0]["response"]["status"] == "completed"
            assert {e.data["invocation_id"] for e in events if e.kind == "message"} == {
                invocation[0]
            }
    assert probe.failures == 0 and probe.times
    times = sorted(probe.times)
    print(
        f"\n{CLIENTS} clients in {elapsed:.1f} s; health: n={len(times)} "
        f"median={statistics.median(times) * 1000:.1f} ms p95={times[int(len(times) * 0.95) - 1] * 1000:.1f} ms "
        f"max={times[-1] * 1000:.1f} ms"
    )

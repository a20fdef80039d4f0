"""Faults: a server SIGKILLed mid-job and restarted, cancel, disconnect and resume, heartbeats."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.backend.conftest import EXTRACT, db
from tests.backend.media import make_longer_video
from tests.live_server import LiveServer, start_server
from tui.client.http import Client, Event

CREDITS = 1000


@pytest.fixture(scope="module")
def long_speech(speech_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The speech video's sound twice over: a job long enough to be interrupted."""
    return make_longer_video(tmp_path_factory.mktemp("long-speech") / "long.mp4", speech_video, 2)


@pytest.fixture(scope="session")
def cancellable_speech(speech_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight times the speech (4 minutes): a job that is surely still running when a test
    cancels it a few seconds in, however fast the machine (tests that cancel it pay
    nothing for its length)."""
    folder = tmp_path_factory.mktemp("cancellable-speech")
    return make_longer_video(folder / "longer.mp4", speech_video, 8)


def wait_for(predicate, timeout: float = 120.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def job_row(server: LiveServer, job_id: str):
    with db(server) as conn:
        return conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is dead for our purpose
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


async def first_events(api: Client, sid: str, text: str, count: int) -> list[Event]:
    seen: list[Event] = []
    async for event in api.run_sse(sid, text):
        seen.append(event)
        if len(seen) >= count:
            break  # the client goes away mid-stream
    return seen


async def test_sigkill_mid_job_then_restart_resumes_or_fails_cleanly(
    tmp_path: Path, long_speech: Path, media
) -> None:
    server = start_server(tmp_path / "data", "--starting-credits", str(CREDITS))
    token_file = tmp_path / "token.json"
    try:
        async with Client(server.url, token_file=token_file) as api:
            sid = (await api.create_session()).session_id
            [tone] = await api.upload_files(sid, [media["tone"]])
            kept = {"video_id": tone["video_id"], "revision": 0, "language": "en", "speakers": {"S1": "Ann"},
                    "turns": [{"speaker": "S1", "start_ms": 0, "end_ms": 500, "text": "kept", "words": []}]}  # fmt: skip
            kept = await api.put_script(sid, kept)
            [info] = await api.upload_files(sid, [long_speech])
            # What follows the extraction waits for it, across the crash too.
            seen = await first_events(api, sid, f"transcribe {info['name']} and export srt", 2)
        with db(server) as conn:
            job_id = conn.execute("SELECT id FROM jobs WHERE session_id=?", (sid,)).fetchone()[0]
        running = wait_for(
            lambda: (r := job_row(server, job_id))["status"] == "running" and r["worker_pid"] and r
        )
        worker = running["worker_pid"]
        server.kill()
        wait_for(lambda: not alive(worker), timeout=10)  # the worker does not outlive its server
        assert job_row(server, job_id)["status"] == "running"  # as the crash left it
        # What a crash mid-upload / mid-export leaves behind; the restart removes it.
        orphans = [
            server.data_dir / "tmp" / "upload-crashed",
            server.data_dir / "exports" / "render_crashed" / ".part-x.md",
            server.data_dir / "media" / "ff" / f"{'f' * 64}.mp4",
        ]
        for orphan in orphans:
            orphan.parent.mkdir(parents=True, exist_ok=True)
            orphan.write_bytes(b"half")
        stored = sorted((server.data_dir / "media").rglob("*.mp4"))

        server.start()  # same data dir, new port
        assert not any(p.exists() for p in orphans)
        assert not (server.data_dir / "exports" / "render_crashed").exists()
        kept_media = [p for p in stored if p not in orphans]
        assert len(kept_media) == 2 and all(p.exists() for p in kept_media)  # both uploads
        async with Client(server.url, token_file=token_file) as api:
            rest = [e async for e in api.run_sse(sid, "", last_event_id=seen[-1].id)]
            assert "starts again" in " ".join(e.text for e in rest)
            done, exported = [r["response"] for e in rest for r in e.function_responses]
            assert done["status"] == "completed"
            assert exported["status"] == "completed" and exported["format"] == "srt"
            ids = [int(e.id) for e in seen + rest if e.kind != "heartbeat"]
            assert ids == sorted(set(ids))  # nothing repeated, in order
            state = await api.state(sid)
            assert state["scripts"][tone["video_id"]] == kept  # nothing lost
            assert {f["video_id"] for f in state["video_infos"]} == {
                tone["video_id"],
                info["video_id"],
            }
            balance = await api.credits()
            assert balance["frozen"] == 0 and balance["total"] == CREDITS - -(
                -info["duration_ms"] // 60000
            )

            # Killed on every attempt: failed, with its credits released, and what was to
            # follow it not done.
            seen = await first_events(api, sid, f"transcribe {info['name']}, then export vtt", 2)
        for _attempt in range(2):
            with db(server) as conn:
                job_id = conn.execute(
                    "SELECT id FROM jobs WHERE session_id=? ORDER BY created_at DESC", (sid,)
                ).fetchone()[0]
            wait_for(lambda j=job_id: job_row(server, j)["status"] == "running")
            server.kill()
            server.start()
        async with Client(server.url, token_file=token_file) as api:
            rest = [e async for e in api.run_sse(sid, "", last_event_id=seen[-1].id)]
            [failed] = [r["response"] for e in rest for r in e.function_responses]
            assert failed["status"] == "failed" and "credits released" in failed["error"]
            assert "Not done, because the job before did not complete: export vtt" in " ".join(
                e.text for e in rest
            )
            state = await api.state(sid)
            assert [m["format"] for m in state["generated_media"]] == ["srt"]
            assert [j["status"] for j in state["jobs"]] == ["completed", "failed"]
            assert state["script"]["video_id"] == info["video_id"]
            after = await api.credits()
            assert after == balance  # the failed job charged nothing, holds nothing
        with db(server) as conn:
            assert (
                conn.execute(
                    "SELECT COUNT(*) FROM jobs WHERE status IN ('running','queued')"
                ).fetchone()[0]
                == 0
            )
            ledger = conn.execute("SELECT kind, SUM(amount) FROM ledger GROUP BY kind").fetchall()
            sums = {k: v for k, v in ledger}
            assert sums["freeze"] == sums["charge"] + sums["release"]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = start_server(
        tmp_path_factory.mktemp("fault-server"),
        "--starting-credits",
        str(CREDITS),
        REELSCRIPT_HEARTBEAT_S="1",
    )
    yield server
    server.stop()


async def test_cancel_running_and_queued_jobs_releases_credits(
    fault_server: LiveServer, cancellable_speech: Path, tmp_path: Path
) -> None:
    async with Client(fault_server.url, token_file=tmp_path / "t.json") as api:
        sid = (await api.create_session()).session_id
        await api.upload_files(sid, [cancellable_speech])
        running = await first_events(api, sid, EXTRACT, 2)
        # The same request again while it runs starts nothing and freezes nothing more.
        again = [e async for e in api.run_sse(sid, EXTRACT)]
        [twice] = [r["response"] for e in again for r in e.function_responses]
        assert twice["status"] == "not_started" and len(twice["in_progress"]) == 1
        assert "already being done" in " ".join(e.text for e in again)
        frozen = (await api.credits())["frozen"]
        queued = await first_events(api, sid, EXTRACT + " with 2 speakers", 2)
        jobs = (await api.state(sid))["jobs"]
        assert len(jobs) == 2 and twice["in_progress"] == [jobs[0]["id"]]
        assert (await api.credits())["frozen"] == 2 * frozen
        assert [j["status"] for j in jobs][1] == "queued"
        wait_for(lambda: job_row(fault_server, jobs[0]["id"])["status"] == "running")
        assert (await api.credits())["frozen"] > 0
        cancelled = await api.cancel_job(jobs[1]["id"])
        assert cancelled["status"] == "cancelled"
        await api.cancel_job(jobs[0]["id"])
        rest = [e async for e in api.run_sse(sid, "", last_event_id=running[-1].id)]
        [end] = [r["response"] for e in rest for r in e.function_responses]
        assert end["status"] == "cancelled" and end["credits_charged"] == 0
        rest = [e async for e in api.run_sse(sid, "", last_event_id=queued[-1].id)]
        assert [r["response"]["status"] for e in rest for r in e.function_responses] == [
            "cancelled"
        ]
        balance = await api.credits()
        assert balance == {
            "available": CREDITS,
            "frozen": 0,
            "total": CREDITS,
            "unlimited": False,
            "display": str(CREDITS),
        }


async def test_disconnect_does_not_stop_the_job_and_resume_loses_nothing(
    fault_server: LiveServer, speech_video: Path, tmp_path: Path
) -> None:
    async with Client(fault_server.url, token_file=tmp_path / "t.json") as api:
        sid = (await api.create_session()).session_id
        await api.upload_files(sid, [speech_video])
        # A heartbeat (every second here) repeats the last event's id and is not stored:
        # on a busy machine one comes among the first events, and is no event to resume.
        part = [e for e in await first_events(api, sid, EXTRACT, 3) if e.kind != "heartbeat"]
        job_id = (await api.state(sid))["jobs"][0]["id"]
        wait_for(lambda: job_row(fault_server, job_id)["status"] == "completed")
        rest = [e async for e in api.run_sse(sid, "", last_event_id=part[-1].id)]
        whole = [e async for e in api.run_sse(sid, "", last_event_id=part[0].id)]
        got = [e for e in part[1:] + rest if e.kind != "heartbeat"]
        whole = [e for e in whole if e.kind != "heartbeat"]
        assert [e.id for e in got] == [e.id for e in whole]
        assert [e.data for e in got] == [e.data for e in whole]
        assert whole[-1].function_responses[0]["response"]["status"] == "completed"


async def test_heartbeats_while_waiting_in_the_queue(
    fault_server: LiveServer, cancellable_speech: Path, media, tmp_path: Path
) -> None:
    async with Client(fault_server.url, token_file=tmp_path / "t.json") as api:
        sid = (await api.create_session()).session_id
        await api.upload_files(sid, [cancellable_speech, media["tone"]])
        await first_events(api, sid, "transcribe file 1", 2)
        events: list[Event] = []
        async for event in api.run_sse(sid, "transcribe file 2"):
            events.append(event)
            if event.kind == "heartbeat" and len([e for e in events if e.kind == "heartbeat"]) == 2:
                # Two heartbeats seen while file 2 waits: stop file 1 so file 2 runs.
                await api.cancel_job((await api.state(sid))["jobs"][0]["id"])
        beats = [e for e in events if e.kind == "heartbeat"]
        assert len(beats) >= 2 and all(b.id for b in beats)
        assert events[-1].function_responses[0]["response"]["status"] == "completed"
        assert [j["status"] for j in (await api.state(sid))["jobs"]] == ["cancelled", "completed"]


async def test_stream_time_limit_ends_the_stream_not_the_job(
    tmp_path: Path, cancellable_speech: Path
) -> None:
    server = start_server(tmp_path / "data", REELSCRIPT_STREAM_LIMIT_S="2")
    try:
        async with Client(server.url, token_file=tmp_path / "t.json") as api:
            sid = (await api.create_session()).session_id
            await api.upload_files(sid, [cancellable_speech])
            started = time.monotonic()
            events = [e async for e in api.run_sse(sid, EXTRACT)]
            assert time.monotonic() - started < 10
            assert "time limit" in events[-1].text and not events[-1].function_responses
            job = (await api.state(sid))["jobs"][0]
            assert job["status"] in ("queued", "running")
            await api.cancel_job(job["id"])
    finally:
        server.stop()

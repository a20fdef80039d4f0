"""A team on loopback: 2 API processes, 2 ``reelscript worker`` processes, PostgreSQL, Redis.

Jobs cross processes: started on one API and streamed on the other, taken over
when their worker is killed, failed with credits released after the last
attempt, cancelled through the other API, run once for a message delivered
twice, and sent by the sweeper when the API that queued them died before
sending.  Leases are 2 s here (30 s in production).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.backend.conftest import EXTRACT
from tests.team.conftest import Team
from tui.client.http import Client, Event

CLIP = "real_conversation.mkv"  # 38 s of two people: a job runs long enough to be killed


async def start(
    api: Client, data_dir: Path, crew: Team
) -> tuple[str, str, asyncio.Task[list[Event]]]:
    """Upload the clip and ask for its script; (session id, job id, the stream's task)."""
    session = await api.create_session(language="en")
    await api.upload_files(session.session_id, [data_dir / CLIP])

    async def collect() -> list[Event]:
        return [e async for e in api.run_sse(session.session_id, EXTRACT)]

    stream = asyncio.create_task(collect())
    for _ in range(200):
        rows = crew.sql("SELECT id FROM jobs WHERE session_id=%s", session.session_id)
        if rows:
            return session.session_id, str(rows[0][0]), stream
        await asyncio.sleep(0.05)
    raise AssertionError("no job was queued")


def ledger(crew: Team, job_id: str) -> dict[str, int]:
    rows = crew.sql("SELECT kind, SUM(amount) FROM ledger WHERE job_id=%s GROUP BY kind", job_id)
    return {kind: int(total) for kind, total in rows}


def job(crew: Team, job_id: str) -> dict[str, Any]:
    [row] = crew.sql("SELECT status, attempts, frozen, charged FROM jobs WHERE id=%s", job_id)
    return dict(zip(("status", "attempts", "frozen", "charged"), row, strict=True))


def texts(events: list[Event]) -> str:
    return " ".join(e.text for e in events if e.kind == "message" and e.text)


def clients(crew: Team, tmp_path: Path) -> tuple[Client, Client]:
    token = tmp_path / "token.json"  # one account, used through either API
    return (
        Client(crew.apis[0].url, token_file=token, platform="cli"),
        Client(crew.apis[1].url, token_file=token, platform="cli"),
    )


async def test_started_on_a_streamed_on_b_every_event_in_order(
    crew: Team, data_dir: Path, tmp_path: Path
) -> None:
    a, b = clients(crew, tmp_path)
    async with a, b:
        session = await a.create_session(language="en")
        await a.upload_files(session.session_id, [data_dir / "reading_short.wav"])
        through_a = a.run_sse(session.session_id, EXTRACT)
        first = await anext(through_a)
        follow = b.run_sse(session.session_id, EXTRACT, last_event_id=first.id)
        on_b = asyncio.create_task(_collect(follow))
        on_a = [first] + [e async for e in through_a]
        on_b_events = await on_b
    ids_a = [int(e.id) for e in on_a if e.kind != "heartbeat"]
    ids_b = [int(e.id) for e in on_b_events if e.kind != "heartbeat"]
    invocation = crew.sql("SELECT invocation_id FROM events WHERE seq=%s", ids_a[0])[0][0]
    stored = [s for (s,) in crew.sql(
        "SELECT seq FROM events WHERE invocation_id=%s ORDER BY seq", invocation)]  # fmt: skip
    assert ids_a == stored and ids_b == stored[1:]
    assert [e.data for e in on_b_events if e.kind != "heartbeat"] == [
        e.data for e in on_a[1:] if e.kind != "heartbeat"
    ]
    assert "ready" in texts(on_b_events)


async def _collect(stream: Any) -> list[Event]:
    return [e async for e in stream]


async def test_killed_worker_other_worker_finishes_charged_once(
    crew: Team, data_dir: Path, tmp_path: Path
) -> None:
    a, _ = clients(crew, tmp_path)
    async with a:
        before = await a.credits()
        _, job_id, stream = await start(a, data_dir, crew)
        crew.worker_running(job_id).kill()
        assert crew.wait_job(job_id) == "completed"
        events = await stream
        after = await a.credits()
    state = job(crew, job_id)
    assert state["attempts"] == 2 and state["frozen"] == 0 and state["charged"] == 1
    assert ledger(crew, job_id) == {"freeze": 1, "charge": 1}
    assert after["frozen"] == 0 and after["total"] == before["total"] - 1
    assert "interrupted" in texts(events) and "ready" in texts(events)


async def test_both_attempts_killed_failed_credits_released(
    crew: Team, data_dir: Path, tmp_path: Path
) -> None:
    a, _ = clients(crew, tmp_path)
    async with a:
        before = await a.credits()
        _, job_id, stream = await start(a, data_dir, crew)
        first = crew.worker_running(job_id)
        first.kill()
        for _ in range(600):  # until the other worker runs the second attempt
            if job(crew, job_id)["attempts"] == 2 and job(crew, job_id)["status"] == "running":
                break
            await asyncio.sleep(0.05)
        crew.worker_running(job_id).kill()
        assert crew.wait_job(job_id) == "failed"
        events = await stream
        after = await a.credits()
    state = job(crew, job_id)
    assert state["attempts"] == 2 and state["frozen"] == 0 and state["charged"] == 0
    assert ledger(crew, job_id) == {"freeze": 1, "release": 1}
    assert after == before
    assert "credits released" in texts(events)


async def test_cancel_through_the_other_api(crew: Team, data_dir: Path, tmp_path: Path) -> None:
    a, b = clients(crew, tmp_path)
    async with a, b:
        before = await a.credits()
        _, job_id, stream = await start(a, data_dir, crew)
        crew.worker_running(job_id)
        await b.cancel_job(job_id)
        assert crew.wait_job(job_id, timeout=30) == "cancelled"
        await stream
        assert await b.credits() == before
    assert ledger(crew, job_id) == {"freeze": 1, "release": 1}


async def test_a_message_delivered_twice_runs_once(
    crew: Team, data_dir: Path, tmp_path: Path
) -> None:
    from tui.backend.dispatch import broker, declare

    redis = broker(crew.services.queue)
    actor = declare(redis, lambda job_id: None)
    a, _ = clients(crew, tmp_path)
    async with a:
        _, job_id, stream = await start(a, data_dir, crew)
        crew.worker_running(job_id)
        redis.enqueue(actor.message(job_id))  # while it runs: the other worker gets it
        assert crew.wait_job(job_id) == "completed"
        redis.enqueue(actor.message(job_id))  # after it finished
        await stream
        await asyncio.sleep(3)  # both duplicates were taken and dropped meanwhile
    state = job(crew, job_id)
    assert state["attempts"] == 1 and state["charged"] == 1
    assert ledger(crew, job_id) == {"freeze": 1, "charge": 1}
    answers = crew.sql("SELECT COUNT(*) FROM events WHERE data LIKE %s", f"%{job_id}%completed%")
    assert answers[0][0] == 1


async def test_api_killed_between_commit_and_send_the_sweeper_sends(
    crew: Team, data_dir: Path, tmp_path: Path
) -> None:
    doomed = crew.api_server(9, REELSCRIPT_TEST_DIE_BEFORE_SEND="1")
    try:
        async with Client(doomed.url, token_file=tmp_path / "t.json", platform="cli") as api:
            session = await api.create_session(language="en")
            await api.upload_files(session.session_id, [data_dir / "reading_short.wav"])
            with pytest.raises(Exception):  # noqa: B017 - the server dies mid-request
                await _collect(api.run_sse(session.session_id, EXTRACT, max_resumes=0))
        assert doomed.process is not None and doomed.process.wait(10) == -9
        [(job_id, message)] = crew.sql(
            "SELECT id, message_id FROM jobs WHERE session_id=%s", session.session_id
        )
        assert message is None  # committed, never sent
        assert crew.wait_job(job_id, timeout=60) == "completed"
    finally:
        doomed.stop()

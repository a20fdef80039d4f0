"""The ``/run_sse`` stream: replay an invocation's stored events, then follow new ones.

The job writes its events to the database; each open stream reads the
ones after the last it sent, polling (a laptop) or woken by PostgreSQL
``NOTIFY`` with polling as the fallback (a team, :mod:`tui.backend.notify`) (so many streams cost little and a resumed stream
with ``Last-Event-ID`` loses nothing).  A heartbeat goes out whenever nothing
else was sent for ``heartbeat_s``; the stream ends once the invocation's
jobs and exports have all finished and their events are sent, or after
``stream_limit_s`` (the job itself goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse

from tui.backend import events
from tui.backend.config import Backend

EventStream = EventSourceResponse


async def follow(backend: Backend, invocation_id: str, after: int) -> AsyncIterator[dict[str, Any]]:
    """Every event of ``invocation_id`` after seq ``after``, as sse-starlette dicts."""
    if backend.notifier is None:
        async for event in _follow(backend, invocation_id, after, None):
            yield event
        return
    with backend.notifier.subscribe(invocation_id) as woken:
        async for event in _follow(backend, invocation_id, after, woken):
            yield event


async def _follow(
    backend: Backend, invocation_id: str, after: int, woken: asyncio.Event | None
) -> AsyncIterator[dict[str, Any]]:
    config, store = backend.config, backend.store
    last = after
    started = last_sent = time.monotonic()
    while True:
        if woken is not None:
            woken.clear()  # before the read: a commit after it wakes the next wait
        rows, busy = await asyncio.to_thread(store.poll_invocation, invocation_id, last)
        for row in rows:
            event: dict[str, Any] = {"id": str(row["seq"]), "data": row["data"]}
            if row["kind"] != "message":
                event["event"] = row["kind"]
            yield event
            last = row["seq"]
            last_sent = time.monotonic()
        if not busy:
            return  # the work is over and (same snapshot) all of its events were sent
        now = time.monotonic()
        if now - started >= config.stream_limit_s:
            note = events.agent_event(
                invocation_id,
                [
                    events.text(
                        "This stream has reached its time limit; the job goes on. "
                        "Read the session state, or resume the stream with Last-Event-ID."
                    )
                ],
            )
            yield {**_resume_id(last), "data": json.dumps(note)}
            return
        if now - last_sent >= config.heartbeat_s:
            # The id repeats the last event's, so resuming from a heartbeat loses nothing.
            beat = {"event": "heartbeat", "data": json.dumps({"ts": time.time()})}
            yield {**_resume_id(last), **beat}
            last_sent = now
        if woken is None:
            await asyncio.sleep(config.poll_s)
        else:  # woken by a commit (NOTIFY), or polling as the fallback
            timeout = min(backend.notifier.fallback_s, config.heartbeat_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout)


def _resume_id(last: int) -> dict[str, str]:
    """The ``id:`` of a heartbeat or note: the last event's; none before any event (an
    id must name an event the server sent: resuming from an unknown one is a 422)."""
    return {"id": str(last)} if last > 0 else {}


def stream(backend: Backend, invocation_id: str, after: int) -> EventSourceResponse:
    # ping=0: sse-starlette's own comment pings are off; our heartbeats are real events.
    return EventSourceResponse(
        follow(backend, invocation_id, after),
        ping=0,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

"""The API client's event stream: ``/run_sse`` read as :class:`Event` objects, a dropped
connection resumed with ``Last-Event-ID`` (docs/api.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from httpx_sse import aconnect_sse

from tui.client.errors import RetryOnce, ServerUnreachable, error_from
from tui.client.types import Event

if TYPE_CHECKING:
    from tui.client.http import Client

STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # heartbeats come every 15 s at most


async def stream_events(
    client: Client,
    http: httpx.AsyncClient,
    session_id: str,
    text: str,
    *,
    last_event_id: str | None = None,
    max_resumes: int = 5,
    if_edited: str | None = None,
) -> AsyncIterator[Event]:
    """Send a message and yield the stream's events until it ends.

    A dropped connection is resumed with ``Last-Event-ID`` (up to
    ``max_resumes`` times), so no event is lost or repeated.  ``if_edited``
    (``keep``/``replace``) is the choice for scripts holding the user's edits.
    """
    body: dict[str, Any] = {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": session_id,
        "new_message": {"role": "user", "parts": [{"text": text}]},
    }
    if if_edited is not None:
        body["if_edited"] = if_edited
    resumes, retry = 0, RetryOnce()
    while True:
        headers = {
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {await client.ensure_token()}",
        }
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        try:
            async with aconnect_sse(
                http,
                "POST",
                "/run_sse",
                json=body,
                headers=headers,
                timeout=STREAM_TIMEOUT,
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    try:
                        error = error_from(response, response.json())
                    except ValueError:
                        error = error_from(response, None)
                    if await retry.allows(client, error):
                        continue
                    raise error
                async for sse in source.aiter_sse():
                    if sse.id:
                        last_event_id = sse.id
                    try:
                        data = json.loads(sse.data) if sse.data else {}
                    except ValueError:
                        data = {"raw": sse.data}
                    yield Event(kind=sse.event or "message", data=data, id=sse.id or None)
            return
        except (httpx.TransportError, httpx.StreamError) as exc:
            if resumes >= max_resumes or last_event_id is None:
                raise ServerUnreachable(
                    f"the event stream from {client.base_url} broke: {exc}"
                ) from exc
            resumes += 1
            await asyncio.sleep(min(0.25 * 2**resumes, 5.0))

"""``/api/admin/workers``: each live worker's host, device, model and current job.

Only for the admin token given to ``reelscript serve --admin-token`` (sent as
``Authorization: Bearer <admin token>``); without that option the route
answers 404, and anonymous tokens never see it.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Request

from tui.backend import leases
from tui.backend.errors import NotFound, Unauthorized

router = APIRouter()


@router.get("/api/admin/workers", tags=["admin"])
async def workers(request: Request) -> dict[str, Any]:
    backend = request.app.state.backend
    expected = backend.config.admin_token
    if not expected:
        raise NotFound("no admin endpoint: the server was started without --admin-token")
    sent = request.headers.get("authorization", "")
    given = sent[7:] if sent.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise Unauthorized("admin token missing or wrong")
    if backend.config.team:
        found = await asyncio.to_thread(leases.live_workers, backend.store, backend.config.lease_s)
    else:
        found = [{"id": f"local-{i}", "host": "localhost"} for i in range(backend.live_workers())]
    return {"code": 0, "message": "ok", "data": {"workers": found}}

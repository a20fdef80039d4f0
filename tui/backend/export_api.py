"""The export routes of docs/api.md: start a render, follow it, cancel it, download the file.

An export needs the attribution headers (:data:`ATTRIBUTION`); the work itself is
:mod:`tui.backend.exports` (what is made) and :mod:`tui.backend.rendering` (the render jobs).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from tui.backend import exports, rendering
from tui.backend.api import BackendDep, TokenDep, ok, owned_session
from tui.backend.errors import ExportRefused
from tui.backend.models import Envelope, RenderData, RenderRequest

router = APIRouter()
#: The headers every export request must carry (who is exporting, from what).
ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")


@router.post("/api/render/proxy/lambda", response_model=Envelope[RenderData], tags=["export"])
def render(
    body: RenderRequest, request: Request, backend: BackendDep, token: TokenDep
) -> dict[str, Any]:
    missing = [h for h in ATTRIBUTION if not request.headers.get(h, "").strip()]
    if missing:
        raise ExportRefused(
            "export refused: attribution headers missing (" + ", ".join(missing) + ")",
            data={"missing": missing},
        )
    owned_session(backend, body.sessionId, token)
    options = {"timestamps": body.output.timestamps, "quality": body.output.quality}
    if body.output.format == "captioned":
        options.update(resolution=body.output.resolution, fit=body.output.fit)
    render_id = exports.start(
        backend, token, body.sessionId, body.id, body.output.format, body.video_id, options
    )
    return ok(exports.describe(backend, token, render_id, request))


@router.get(
    "/api/render/proxy/lambda/{render_id}", response_model=Envelope[RenderData], tags=["export"]
)
def render_status(
    render_id: str, request: Request, backend: BackendDep, token: TokenDep
) -> dict[str, Any]:
    return ok(exports.describe(backend, token, render_id, request))


@router.post(
    "/api/render/proxy/lambda/{render_id}/cancel",
    response_model=Envelope[RenderData],
    tags=["export"],
)
def render_cancel(
    render_id: str, request: Request, backend: BackendDep, token: TokenDep
) -> dict[str, Any]:
    rendering.cancel(backend, token, render_id)
    return ok(exports.describe(backend, token, render_id, request))


@router.get(
    "/api/render/proxy/lambda/{render_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    tags=["export"],
)
def download(render_id: str, backend: BackendDep, token: TokenDep) -> FileResponse:
    path, filename = exports.file_of(backend, token, render_id)
    return FileResponse(path, filename=filename)

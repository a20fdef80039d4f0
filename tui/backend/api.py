"""The routes of shared/API.md: parse, authorise, call the store/agent/jobs, wrap in the envelope.

Database work runs in worker threads (plain ``def`` routes or
``asyncio.to_thread``), so the event loop stays free to answer health checks
and stream events while jobs and uploads run.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tui import __version__
from tui.backend import agent, credits, exports, jobs, state, streaming
from tui.backend.config import Backend
from tui.backend.errors import (
    ClientIdMissing,
    Conflict,
    ExportRefused,
    Invalid,
    NotFound,
    Unauthorized,
)
from tui.backend.errors import RateLimited as RateLimitedError
from tui.backend.models import (
    CancelData,
    CreditsData,
    Envelope,
    HealthData,
    RenderData,
    RenderRequest,
    RunRequest,
    ScriptData,
    ScriptPut,
    SessionData,
    SessionRequest,
    StateData,
    TokenData,
    UploadData,
    UrlUpload,
)
from tui.backend.uploads import admit, fetch_url, receive_multipart
from tui.engine.script import Script

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="the anonymous token")
ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")


def get_backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


BackendDep = Annotated[Backend, Depends(get_backend)]


def current_token(
    backend: BackendDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The stored hash of the caller's token; 1001 when missing, bad or expired."""
    if creds is None:
        raise Unauthorized("token missing: send Authorization: Bearer <token>")
    digest = credits.authenticate(backend.store, creds.credentials)
    if digest is None:
        raise Unauthorized("token bad or expired: get a new anonymous token")
    return digest


TokenDep = Annotated[str, Depends(current_token)]


def ok(data: Any, message: str = "ok") -> dict[str, Any]:
    return {"code": 0, "message": message, "data": data}


def owned_session(backend: Backend, session_id: str, token: str) -> Any:
    row = backend.store.session(session_id, token)
    if row is None:
        raise NotFound(f"session {session_id} not found")
    return row


# -- auth, sessions ---------------------------------------------------------------
@router.get("/api/health", response_model=Envelope[HealthData], tags=["meta"])
async def health(request: Request) -> dict[str, Any]:
    backend = get_backend(request)
    config = backend.config
    return ok(
        {
            "status": "ok",
            "version": __version__,
            "model": config.model_label,
            "device": config.device,
            "server_id": backend.server_id,
            "max_upload_bytes": config.max_upload_bytes,
            "unlimited_credits": config.starting_credits is None,
        }
    )


@router.post("/api/auth/anonymous-token", response_model=Envelope[TokenData], tags=["auth"])
def anonymous_token(
    backend: BackendDep,
    x_client_id: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    if not x_client_id or not x_client_id.strip():
        raise ClientIdMissing("X-Client-Id header missing: send a client id (a UUID)")
    try:
        data = credits.issue_token(
            backend.store, x_client_id.strip(), backend.config.starting_credits
        )
    except credits.RateLimited as exc:
        raise RateLimitedError(
            str(exc),
            data={"retry_after": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    return ok(data)


@router.post(
    "/api/tasks/me/with-session/nemo_agent", response_model=Envelope[SessionData], tags=["session"]
)
def create_session(body: SessionRequest, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    return ok(backend.store.create_session(token, body.task_name, body.language))


# -- upload -----------------------------------------------------------------------
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            },
            "application/json": {"schema": UrlUpload.model_json_schema()},
        },
    }
}


@router.post(
    "/api/upload-video/nemo_agent/me/{session_id}",
    response_model=Envelope[UploadData],
    openapi_extra=UPLOAD_BODY,
    tags=["session"],
)
async def upload(session_id: str, request: Request, token: TokenDep) -> dict[str, Any]:
    backend = get_backend(request)
    store, config = backend.store, backend.config
    await asyncio.to_thread(owned_session, backend, session_id, token)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        incoming = await receive_multipart(request, store.tmp_dir, config.max_upload_bytes)
    elif content_type.startswith("application/json"):
        try:
            body = UrlUpload.model_validate_json(await request.body())
        except ValueError as exc:
            raise Invalid(f"invalid URL upload body: {_first_error(exc)}") from exc
        incoming = []
        try:
            for url in body.urls:
                incoming.append(
                    await fetch_url(
                        url, store.tmp_dir, config.max_upload_bytes, config.allow_private_urls
                    )
                )
        except BaseException:
            for item in incoming:
                item.tmp.unlink(missing_ok=True)
            raise
    else:
        raise Invalid("send multipart/form-data with 'files' parts, or JSON {urls: [...]}")

    def keep() -> list[dict[str, Any]]:
        with store.media_lock:  # stored and recorded as one, as retention sees it
            admitted = admit(store.media_dir, incoming)
            return [store.add_file(session_id, sha, path, info) for sha, path, info in admitted]

    return ok({"files": await asyncio.to_thread(keep)})


# -- the agent stream ---------------------------------------------------------------
@router.post(
    "/run_sse",
    response_class=streaming.EventStream,
    responses={
        200: {
            "description": "Server-Sent Events: agent, progress and heartbeat events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
    tags=["agent"],
)
async def run_sse(
    body: RunRequest,
    request: Request,
    token: TokenDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> streaming.EventStream:
    backend = get_backend(request)
    session = await asyncio.to_thread(owned_session, backend, body.session_id, token)
    if last_event_id and last_event_id.strip().isdigit():
        seq = int(last_event_id.strip())
        invocation = await asyncio.to_thread(backend.store.event_invocation, seq, session["id"])
        if invocation is not None:
            return streaming.stream(backend, invocation, after=seq)
    text = " ".join(part.text for part in body.new_message.parts).strip()
    invocation = await asyncio.to_thread(
        agent.handle, backend, session, token, text, body.if_edited
    )
    return streaming.stream(backend, invocation, after=0)


# -- state, script, credits ----------------------------------------------------------
@router.get(
    "/api/state/nemo_agent/me/{session_id}/latest",
    response_model=Envelope[StateData],
    tags=["session"],
)
def get_state(session_id: str, request: Request, token: TokenDep) -> dict[str, Any]:
    backend = get_backend(request)
    session = owned_session(backend, session_id, token)
    return ok({"state": state.session_state(backend, session, request)})


@router.put(
    "/api/script/nemo_agent/me/{session_id}", response_model=Envelope[ScriptData], tags=["session"]
)
def put_script(
    session_id: str, body: ScriptPut, backend: BackendDep, token: TokenDep
) -> dict[str, Any]:
    owned_session(backend, session_id, token)
    try:
        script = state.align_edits(Script.from_dict(body.script)).to_dict()
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    video_id = script["video_id"]
    if not video_id or backend.store.file(session_id, video_id) is None:
        raise NotFound(f"file {video_id or '(no video_id)'} not found in this session")
    with backend.store.tx() as db:
        saved = backend.store.save_script(db, session_id, script, expected_revision=body.revision)
    if saved is None:
        current = backend.store.script(video_id)
        raise Conflict(
            f"stale revision {body.revision}: the script is at revision "
            f"{current['revision'] if current else 0}; merge your edits into it",
            data={"script": current},
        )
    return ok({"script": saved})


@router.get("/api/credits/balance/simple", response_model=Envelope[CreditsData], tags=["auth"])
def credits_balance(backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    return ok(credits.balance(backend.store, token))


# -- exports and jobs ------------------------------------------------------------------
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


@router.get(
    "/api/render/proxy/lambda/{render_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    tags=["export"],
)
def download(render_id: str, backend: BackendDep, token: TokenDep) -> FileResponse:
    path, filename = exports.file_of(backend, token, render_id)
    return FileResponse(path, filename=filename)


@router.post("/api/jobs/{job_id}/cancel", response_model=Envelope[CancelData], tags=["session"])
def cancel_job(job_id: str, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    job = jobs.request_cancel(backend.store, job_id, token)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return ok({"job": job})


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)

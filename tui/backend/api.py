"""The routes of docs/api.md: parse, authorise, call the store/agent/jobs, wrap in the envelope.

Database work runs in worker threads (plain ``def`` routes or
``asyncio.to_thread``), so the event loop stays free to answer health checks
and stream events while jobs and uploads run.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tui import __version__
from tui.backend import agent, credits, jobs, state, streaming
from tui.backend.config import Backend
from tui.backend.errors import (
    ClientIdMissing,
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
)
from tui.backend.errors import RateLimited as RateLimitedError
from tui.backend.limits import RequestTooLarge, client_address, script_limit
from tui.backend.models import (
    CancelData,
    CreditsData,
    Envelope,
    HealthData,
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
from tui.backend.store import dumps
from tui.backend.uploads import MAX_FILES, admit, fetch_url, receive_multipart
from tui.engine.script import Script

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="the anonymous token")


def get_backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


BackendDep = Annotated[Backend, Depends(get_backend)]


def caller(request: Request) -> str:
    """The caller's address as the per-address limits count it (see limits.client_address)."""
    config = get_backend(request).config
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return client_address(peer, forwarded, config.trusted_proxies)


def current_token(
    request: Request,
    backend: BackendDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The account the caller's token acts for; 1001 when missing, bad or expired, and
    429 for an address that sent too many bad tokens this minute."""
    if creds is None:
        raise Unauthorized("token missing: send Authorization: Bearer <token>")
    address = caller(request)
    backend.auth_throttle.check(address)
    account = credits.authenticate(backend.store, creds.credentials)
    if account is None:
        backend.auth_throttle.failed(address)
        raise Unauthorized("token bad or expired: get a new anonymous token")
    return account


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
    team = config.team  # a database query there: off the event loop
    workers = await asyncio.to_thread(backend.live_workers) if team else backend.live_workers()
    return ok(
        {
            "status": "ok",
            "workers": workers,
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
    request: Request,
    backend: BackendDep,
    x_client_id: Annotated[str | None, Header(max_length=200)] = None,
    x_client_secret: Annotated[
        str | None,
        Header(
            min_length=16,
            max_length=200,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="a secret the client keeps with its client id: it proves the"
            " client id later, so a lost or expired token is replaced on the same account",
        ),
    ] = None,
) -> dict[str, Any]:
    if not x_client_id or not x_client_id.strip():
        raise ClientIdMissing("X-Client-Id header missing: send a client id (a UUID)")
    asked = credits.TokenRequest(
        client_id=x_client_id,
        secret=x_client_secret,
        source=caller(request),
        per_hour=backend.config.tokens_per_hour,
    )
    try:
        data = credits.issue_token(backend.store, asked, backend.config.starting_credits)
    except credits.ClientIdTaken as exc:
        raise ClientIdMissing(str(exc)) from exc
    except credits.RateLimited as exc:
        raise RateLimitedError(
            str(exc),
            data={"retry_after": exc.retry_after, "reason": exc.reason},
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
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                            "items": {"type": "string", "format": "binary", "minLength": 1},
                        }
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
            raise Invalid(f"invalid URL upload body: {_url_error(exc)}") from exc
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
    if last_event_id is not None:
        # A resume: the stream of the invocation that sent this event, after it.  An id
        # this session never sent is refused before anything starts: never new work.
        seq = int(last_event_id.strip()) if last_event_id.strip().isdigit() else None
        invocation = None
        if seq is not None:
            invocation = await asyncio.to_thread(backend.store.event_invocation, seq, session["id"])
        if invocation is None:
            raise Invalid(
                f"Last-Event-ID {last_event_id.strip()[:40]!r} is not an event of this"
                " session's streams: resume with an id the stream sent, or send without it"
            )
        return streaming.stream(backend, invocation, after=seq or 0)
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
    _within_size(backend, session_id, body.script)  # before any work on it
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


def _within_size(backend: Backend, session_id: str, script: dict[str, Any]) -> None:
    """A script may be 1 MB + 256 KB per minute of its file's media (else 413 / 422)."""
    video_id = script.get("video_id")
    row = backend.store.file(session_id, video_id) if isinstance(video_id, str) else None
    if row is None:
        return  # no such file: the checks that follow say so
    limit = script_limit(
        json.loads(row["info"]).get("duration_ms"), backend.config.max_script_bytes
    )
    if len(dumps(script).encode()) > limit:
        raise RequestTooLarge(
            f"request too large: a script of this file may be {limit} bytes at most"
            " (1 MB and 256 KB per minute of its media)",
            data={"limit_bytes": limit},
        )


@router.get("/api/credits/balance/simple", response_model=Envelope[CreditsData], tags=["auth"])
def credits_balance(backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    return ok(credits.balance(backend.store, token))


# -- jobs ------------------------------------------------------------------------------
@router.post("/api/jobs/{job_id}/cancel", response_model=Envelope[CancelData], tags=["session"])
def cancel_job(job_id: str, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    job = jobs.request_cancel(backend.store, job_id, token)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return ok({"job": job})


def _url_error(exc: Exception) -> str:
    """The first error of a URL upload body; a URL the pattern refuses, said in words."""
    errors = getattr(exc, "errors", None)
    first = errors()[0] if callable(errors) and errors() else {}
    if first.get("type") == "string_pattern_mismatch":
        return (
            f"only http and https URLs with a host name can be fetched (printable ASCII,"
            f" the rest percent-encoded): {str(first.get('input'))[:200]}"
        )
    return _first_error(exc)


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)

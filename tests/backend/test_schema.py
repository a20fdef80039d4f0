"""Schemathesis against the served /openapi.json: no 500s, every answer matches the schema.

The number of examples per operation is bounded so the run stays short;
generated requests carry a real token, so they get past authentication and
reach the routes' own validation.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.backend.conftest import ATTRIBUTION, new_token
from tests.backend.test_errors import envelope, session, upload
from tests.live_server import LiveServer

EXAMPLES = 25
#: (code, part of the message) of the refusals a valid request can get for what the
#: server holds, not for its shape: docs/api.md lists them.
STATE_REFUSALS: list[tuple[int, str]] = [
    (400, "belongs to another client"),  # the client id is taken (its secret differs)
    (2001, ""),  # not enough credits
    (422, "there is no script to export yet"),
    (422, "is already used"),  # an export id this token used before
    (422, "Last-Event-ID"),  # an event id the session's streams never sent
    (422, "request too large"),  # a script over its media's bound
    (4001, ""),  # content that is not media (bytes no schema can tell apart)
    (4002, ""),  # a file over the upload limit
    (409, "is already called"),  # renaming a voice to another voice's name
    (422, "malformed voices export"),  # vectors of the wrong length for their encoder
    (422, "speaks too little"),  # enrolling a speaker with too little speech for a voice
    # what the network answered a URL upload
    (422, "cannot resolve"),
    (422, "private or loopback"),
    (422, "could not fetch"),
    (422, "answered HTTP"),
    (422, "too many redirects"),
]


@pytest.fixture(scope="module")
def api_schema(strict_server: LiveServer):
    return schemathesis.openapi.from_url(f"{strict_server.url}/openapi.json")


@pytest.fixture(scope="module")
def token(strict_server: LiveServer) -> str:
    return new_token(strict_server.url)


@pytest.fixture(scope="module")
def own_session(strict_server: LiveServer, token: str, media) -> str:
    """A session of the token with a file in it: valid requests name it, so they reach
    the routes' own checks instead of stopping at 1002 (no such session)."""
    url = strict_server.url
    sid = session(url, token)
    envelope(upload(url, token, sid, media["tone"]), 200, 0)
    return sid


def in_own_session(case, sid: str) -> None:
    """A valid (positive) case names the token's session wherever it names one."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if "session_id" in (case.path_parameters or {}):
        case.path_parameters["session_id"] = sid
    if isinstance(case.body, dict):
        for key in ("session_id", "sessionId"):
            if key in case.body:
                case.body[key] = sid


schema = schemathesis.pytest.from_fixture("api_schema")


load_all_checks()
#: Every check schemathesis has (its CLI's ``-c all``), the positive-data one held to
#: the state-dependent refusals docs/api.md lists (:func:`accepted_unless_state`).
ALL_CHECKS = [c for c in CHECKS.get_all() if c is not positive_data_acceptance]


@schemathesis.check
def accepted_unless_state(ctx, response, case) -> bool | None:
    """Valid data is accepted, unless the answer is one of docs/api.md's refusals that
    depend on the server's state or the content, not on the request's shape."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if state_refusal(response):
            return None
        raise


def state_refusal(response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    return any(body.get("code") == code and part in message for code, part in STATE_REFUSALS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(
    case, strict_server: LiveServer, token: str, own_session: str
) -> None:
    in_own_session(case, own_session)
    headers = {"Authorization": f"Bearer {token}", **ATTRIBUTION}
    case.call_and_validate(
        base_url=strict_server.url, headers=headers, checks=[*ALL_CHECKS, accepted_unless_state]
    )


def test_openapi_names_every_route_of_api_md(strict_server: LiveServer) -> None:
    paths = httpx.get(f"{strict_server.url}/openapi.json").json()["paths"]
    assert {
        "/api/auth/anonymous-token",
        "/api/tasks/me/with-session/nemo_agent",
        "/api/upload-video/nemo_agent/me/{session_id}",
        "/run_sse",
        "/api/state/nemo_agent/me/{session_id}/latest",
        "/api/script/nemo_agent/me/{session_id}",
        "/api/credits/balance/simple",
        "/api/render/proxy/lambda",
        "/api/render/proxy/lambda/{render_id}",
        "/api/health",
        "/api/jobs/{job_id}/cancel",
    } <= set(paths)

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

from tests.backend.conftest import ATTRIBUTION, new_token
from tests.live_server import LiveServer

EXAMPLES = 25


@pytest.fixture(scope="module")
def api_schema(strict_server: LiveServer):
    return schemathesis.openapi.from_url(f"{strict_server.url}/openapi.json")


@pytest.fixture(scope="module")
def token(strict_server: LiveServer) -> str:
    return new_token(strict_server.url)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case, strict_server: LiveServer, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", **ATTRIBUTION}
    case.call_and_validate(base_url=strict_server.url, headers=headers)


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

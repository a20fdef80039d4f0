"""The served /openapi.json says what the server does: the event stream's type and
events, request schemas the server accepts, upload names that are base names."""

from __future__ import annotations

import httpx

from tests.backend.conftest import auth, new_token
from tests.backend.test_errors import envelope, session
from tests.backend.test_uploads import file_server  # noqa: F401 - a fixture used below
from tests.live_server import LiveServer


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_run_sse_is_documented_as_an_event_stream_with_its_events(
    strict_server: LiveServer,
) -> None:
    doc = httpx.get(f"{strict_server.url}/openapi.json").json()
    content = doc["paths"]["/run_sse"]["post"]["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    events = content["text/event-stream"]["x-events"]
    assert set(events) == {"message", "progress", "heartbeat"}
    progress = _resolve(doc, events["progress"])
    assert {"job_id", "stage", "progress", "eta_s"} <= set(progress["required"])
    agent = _resolve(doc, events["message"])
    assert {"id", "invocation_id", "author", "timestamp", "partial", "content"} <= set(
        agent["required"]
    )


def test_request_schemas_refuse_what_the_server_refuses(strict_server: LiveServer) -> None:
    doc = httpx.get(f"{strict_server.url}/openapi.json").json()
    upload = doc["paths"]["/api/upload-video/nemo_agent/me/{session_id}"]["post"]["requestBody"]
    url_item = _resolve(doc, upload["content"]["application/json"]["schema"])["properties"]["urls"]
    assert url_item["items"]["minLength"] >= 8 and url_item["items"]["pattern"].startswith(
        "^https?"
    )
    files = upload["content"]["multipart/form-data"]["schema"]["properties"]["files"]
    assert files["minItems"] == 1 and files["items"]["minLength"] == 1  # no 0-byte files
    render = _resolve(
        doc,
        doc["paths"]["/api/render/proxy/lambda"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"],
    )
    assert (
        ".." not in render["properties"]["id"]["pattern"]
        and "." not in render["properties"]["id"]["pattern"]
    )
    for path in doc["paths"].values():  # a header that is sent is a string, never "null"
        for operation in path.values():
            for param in operation.get("parameters", []):
                if param["in"] == "header":
                    assert "anyOf" not in param["schema"], param
                    assert param["schema"].get("type") == "string", param
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    for bad in ("", "http://[", "http://a:b/x.mp4", "http://xn--/x.mp4", "http://a/ü"):
        response = httpx.post(
            f"{url}/api/upload-video/nemo_agent/me/{sid}",
            json={"urls": [bad], "source_type": "url"},
            headers=auth(token),
        )
        envelope(response, 422, 422)  # refused in one line, never a 500


def test_a_url_upload_is_named_by_its_base_name(
    strict_server: LiveServer,
    file_server: str,  # noqa: F811
) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    for path in ("/..%2F..%2Ftone.mp4", "/%2E%2E%2F%2E%2E%2Ftone.mp4"):
        response = httpx.post(
            f"{url}/api/upload-video/nemo_agent/me/{sid}",
            json={"urls": [f"{file_server}{path}"], "source_type": "url"},
            headers=auth(token),
            timeout=60,
        )
        [info] = envelope(response, 200, 0)["data"]["files"]
        assert info["name"] == "tone.mp4", info["name"]

"""What ``/openapi.json`` adds to FastAPI's own document, so it says what is served.

* ``X-Client-Id`` is required (the route answers docs/api.md's 400 itself, so
  FastAPI cannot know).
* An optional header is a string when sent: FastAPI writes ``str | None`` as
  "string or null", and a client sending the text ``null`` gets a 422.
* ``/run_sse`` answers ``text/event-stream``; its events' ``data`` schemas
  (agent, progress, heartbeat) are components, named per event type under the
  response's ``x-events``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from tui.backend.models import Open


class EventContent(BaseModel):
    role: Literal["model"]
    parts: list[dict[str, Any]] = Field(
        description='each {"text"}, {"function_call": {id, name, args}} or'
        ' {"function_response": {id, name, response}}'
    )


class AgentEvent(Open):
    """An event with no ``event:`` line: what the agent says or does."""

    id: str
    invocation_id: str
    author: Literal["reelscript"]
    timestamp: float
    partial: bool
    content: EventContent


class ProgressEvent(Open):
    """``event: progress``: a job's stage and progress."""

    job_id: str
    stage: str
    progress: float = Field(ge=0, le=1)
    eta_s: float | None


class HeartbeatEvent(Open):
    """``event: heartbeat``: sent when nothing else was sent for 15 s."""

    ts: float


EVENTS: dict[str, type[BaseModel]] = {
    "message": AgentEvent,
    "progress": ProgressEvent,
    "heartbeat": HeartbeatEvent,
}
STREAM_DESCRIPTION = (
    "Server-Sent Events. Each event has an `id:` (resume with Last-Event-ID) and a JSON"
    " `data:` line: agent events (no `event:` line), `event: progress` and"
    " `event: heartbeat`; `x-events` names each one's schema."
)


def _string_when_sent(param: dict[str, Any]) -> None:
    schema = param.get("schema", {})
    branches = schema.get("anyOf")
    if not branches:
        return
    kept = [b for b in branches if b.get("type") != "null"]
    if len(kept) == 1:
        param["schema"] = {
            **{k: v for k, v in schema.items() if k != "anyOf"},
            **kept[0],
        }


def _document(schema: dict[str, Any]) -> None:
    for path in schema["paths"].values():
        for operation in path.values():
            for param in operation.get("parameters", []):
                if param.get("in") == "header":
                    _string_when_sent(param)
    token = schema["paths"]["/api/auth/anonymous-token"]["post"]
    for param in token.get("parameters", []):
        if param["name"].lower() == "x-client-id":
            param["required"] = True
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    refs = {}
    for name, model in EVENTS.items():
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(sub, definition)
        components[model.__name__] = model_schema
        refs[name] = {"$ref": f"#/components/schemas/{model.__name__}"}
    schema["paths"]["/run_sse"]["post"]["responses"]["200"] = {
        "description": STREAM_DESCRIPTION,
        "content": {"text/event-stream": {"schema": _event_schema(refs), "x-events": refs}},
    }


def _event_schema(refs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """One event of the stream (as SSE parsers see it: ``id``, ``event``, ``data``), its
    ``data`` the JSON of that event type's schema."""

    def kind(name: str) -> dict[str, Any]:
        data = {"contentMediaType": "application/json", "contentSchema": refs[name]}
        return {
            "properties": {"event": {"const": name}, "data": data},
            "required": ["event"] if name != "message" else [],
        }

    return {
        "type": "object",
        "description": STREAM_DESCRIPTION,
        "required": ["data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "event": {"type": "string", "enum": list(refs)},
            "data": {"type": "string"},
            "retry": {"type": "integer"},
        },
        "oneOf": [kind(name) for name in refs],
    }


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with the additions above."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document(build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

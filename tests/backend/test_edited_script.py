"""An edited script is never replaced without the user's choice, and a declined job costs nothing.

Every client path reaches the same rule on the server: ``/run_sse`` refuses to
script a file again while its script holds edits, unless the request says
``if_edited: keep`` (nothing is queued) or ``replace`` (a new job is queued).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.backend.conftest import EXTRACT
from tui.client.http import Client, Event


async def _ask(api: Client, session_id: str, text: str, **options: Any) -> list[Event]:
    return [event async for event in api.run_sse(session_id, text, **options)]


def _responses(events: list[Event]) -> list[dict[str, Any]]:
    return [r["response"] for e in events for r in e.function_responses]


def _said(events: list[Event]) -> str:
    return " ".join(e.text for e in events if e.kind == "message" and e.text)


async def test_an_edited_script_is_replaced_only_when_the_request_says_so(
    rich_client: Client, media: dict[str, Path]
) -> None:
    api = rich_client
    session = await api.create_session(language="en")
    [info] = await api.upload_files(session.session_id, [media["tone"]])
    first = _responses(await _ask(api, session.session_id, EXTRACT))
    assert first[-1]["status"] == "completed", first

    # A script the machine made is scripted again without a question.
    again = _responses(await _ask(api, session.session_id, EXTRACT))
    assert again[-1]["status"] == "completed", again

    state = await api.state(session.session_id)
    script = state["scripts"][info["video_id"]]
    script["speakers"] = {**script["speakers"], "S9": "Diane"}
    edited = await api.put_script(session.session_id, script)
    jobs_before = len(state["jobs"])
    credits_before = await api.credits()

    # Not said: refused, nothing queued, nothing charged, and the rest of the message waits.
    events = await _ask(api, session.session_id, f"{EXTRACT} and export srt")
    [refused] = [r for r in _responses(events) if r.get("status") == "needs_choice"]
    assert refused["edited"] == [
        {"video_id": info["video_id"], "name": info["name"], "revision": edited["revision"]}
    ]
    assert refused["choices"] == ["keep", "replace"]
    assert "keep" in _said(events) and "Not done" in _said(events)
    state = await api.state(session.session_id)
    assert len(state["jobs"]) == jobs_before and not state["generated_media"]
    assert state["scripts"][info["video_id"]]["revision"] == edited["revision"]
    assert await api.credits() == credits_before

    # keep: still nothing queued; the edited script stays.
    events = await _ask(api, session.session_id, EXTRACT, if_edited="keep")
    assert "keeps your edited script" in _said(events)
    state = await api.state(session.session_id)
    assert len(state["jobs"]) == jobs_before
    assert state["scripts"][info["video_id"]] == edited

    # replace: a new job makes a new revision.
    events = await _ask(api, session.session_id, EXTRACT, if_edited="replace")
    assert _responses(events)[-1]["status"] == "completed"
    state = await api.state(session.session_id)
    assert len(state["jobs"]) == jobs_before + 1
    assert state["scripts"][info["video_id"]]["revision"] == edited["revision"] + 1


async def test_a_bad_choice_is_a_422(rich_client: Client) -> None:
    api = rich_client
    session = await api.create_session(language="en")
    response = await api._http.post(
        "/run_sse",
        json={
            "session_id": session.session_id,
            "new_message": {"parts": [{"text": EXTRACT}]},
            "if_edited": "maybe",
        },
        headers={"Authorization": f"Bearer {await api.ensure_token()}"},
    )
    assert response.status_code == 422


async def test_removing_fillers_when_there_are_none_makes_no_revision(
    rich_client: Client, media: dict[str, Path]
) -> None:
    api = rich_client
    session = await api.create_session(language="en")
    await api.upload_files(session.session_id, [media["tone"]])
    await _ask(api, session.session_id, EXTRACT)
    revision = (await api.state(session.session_id))["script"]["revision"]
    events = await _ask(api, session.session_id, "remove filler words")
    assert _responses(events)[-1]["status"] == "unchanged"
    assert "no filler words" in _said(events)
    assert (await api.state(session.session_id))["script"]["revision"] == revision

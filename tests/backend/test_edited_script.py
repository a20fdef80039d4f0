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


async def test_replacing_a_word_edits_every_turn_and_keeps_the_timings(
    rich_client: Client, speech_video: Path
) -> None:
    """Replacing a word through /run_sse: whole words, every turn, one new revision."""
    api = rich_client
    session = await api.create_session(language="en")
    await api.upload_files(session.session_id, [speech_video])
    await _ask(api, session.session_id, EXTRACT)
    before = (await api.state(session.session_id))["script"]
    words = [(w["w"], w["s"], w["e"]) for t in before["turns"] for w in t["words"]]
    target = next(w for w, _, _ in words if len(w.strip(".,?!")) >= 4).strip(".,?!")
    count = sum(w.strip(".,?!").casefold() == target.casefold() for w, _, _ in words)

    events = await _ask(api, session.session_id, f'replace "{target}" with "Zanzibar"')
    assert _responses(events)[-1]["status"] == "ok", _said(events)
    assert f"({count} time" in _said(events)
    after = (await api.state(session.session_id))["script"]
    assert after["revision"] == before["revision"] + 1
    changed = [(w["w"], w["s"], w["e"]) for t in after["turns"] for w in t["words"]]
    assert len(changed) == len(words)  # one word for one: every word keeps its time
    for (old, s, e), (new, s2, e2) in zip(words, changed, strict=True):
        assert (s, e) == (s2, e2)
        expected = "Zanzibar" if old.strip(".,?!").casefold() == target.casefold() else old
        assert new.strip(".,?!") == expected.strip(".,?!")

    events = await _ask(api, session.session_id, "replace qwertyuiop with x")
    assert _responses(events)[-1]["status"] == "unchanged"
    assert 'There is no "qwertyuiop"' in _said(events)
    assert (await api.state(session.session_id))["script"]["revision"] == after["revision"]


async def test_replacing_keeps_the_names_given_to_the_speakers(
    rich_client: Client, speech_video: Path
) -> None:
    """Scripted again (a replace, or a translation), the names the user gave go to the
    speakers who talk when the named ones did; the answer says which names were kept."""
    api = rich_client
    session = await api.create_session(language="en")
    [info] = await api.upload_files(session.session_id, [speech_video])
    assert _responses(await _ask(api, session.session_id, EXTRACT))[-1]["status"] == "completed"
    script = (await api.state(session.session_id))["scripts"][info["video_id"]]
    first = script["turns"][0]["speaker"]
    assert len({t["speaker"] for t in script["turns"]}) == 2, script["speakers"]
    script["speakers"] = {**script["speakers"], first: "Diane"}
    edited = await api.put_script(session.session_id, script)

    events = await _ask(api, session.session_id, EXTRACT, if_edited="replace")
    assert _responses(events)[-1]["status"] == "completed"
    assert "Names kept from your edits: Diane." in _said(events)
    again = (await api.state(session.session_id))["scripts"][info["video_id"]]
    assert again["revision"] == edited["revision"] + 1
    assert again["speakers"][again["turns"][0]["speaker"]] == "Diane"
    assert list(again["speakers"].values()).count("Diane") == 1

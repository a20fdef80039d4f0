"""One message, several requests: done in order, and what follows an extraction waits for it.

Against the real server with the real engine on the repository's demo video.
(A crash between the parts, and a job that fails before them: tests/backend/test_faults.py.)
The last test drives the backend's own functions on a real store and the real worker,
to see every state a stream can read while a follow-up starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.backend.conftest import backend_with_a_file
from tui.backend import actions, agent, jobs, worker
from tui.backend.store import Store
from tui.client.http import Client, Event


async def ask(api: Client, session_id: str, text: str) -> list[Event]:
    return [event async for event in api.run_sse(session_id, text)]


def calls(events: list[Event]) -> list[str]:
    return [call["name"] for e in events for call in e.function_calls]


def responses(events: list[Event]) -> list[dict]:
    return [r["response"] for e in events for r in e.function_responses]


async def test_transcribe_and_export_exports_the_new_script(
    rich_client: Client, speech_video: Path, tmp_path: Path
) -> None:
    api = rich_client
    sid = (await api.create_session()).session_id
    await api.upload_files(sid, [speech_video])

    events = await ask(api, sid, "transcribe and export srt and vtt")
    assert calls(events) == ["extract", "export", "export"]
    done, *exported = responses(events)  # the two exports render side by side
    assert done["status"] == "completed" and done["turns"] >= 2
    srt, vtt = sorted(exported, key=lambda r: r["format"])
    assert (srt["status"], srt["format"]) == ("completed", "srt")
    assert (vtt["status"], vtt["format"]) == ("completed", "vtt")
    # The exports were asked for only after the script was there, not before.
    order = [e for e in events if e.function_calls or e.function_responses]
    assert order[1].function_responses and order[1].function_responses[0]["name"] == "extract"
    assert "When that is done: export srt; export vtt." in " ".join(e.text for e in events)
    script = (await api.state(sid))["script"]
    first_words = " ".join(script["turns"][0]["text"].split()[:3])
    assert first_words in (await api.download(srt["url"], tmp_path / "a.srt")).read_text()
    assert (await api.download(vtt["url"], tmp_path / "a.vtt")).read_text().startswith("WEBVTT")

    # Edits and an export in one message: done at once, in order, in one stream.
    events = await ask(api, sid, "rename Speaker 1 to Host and Speaker 2 to Guest, then export txt")
    assert calls(events) == ["rename", "rename", "export"]
    renamed = [r for r in responses(events) if r.get("revision")]
    assert [r["status"] for r in renamed] == ["ok", "ok"]
    state = await api.state(sid)
    assert set(state["script"]["speakers"].values()) == {"Host", "Guest"}
    [txt] = [r for r in responses(events) if r.get("format") == "txt"]
    text = (await api.download(txt["url"], tmp_path / "a.txt")).read_text()
    assert "Host" in text and "Guest" in text

    # Words that only look like two requests stay one.
    events = await ask(api, sid, "rename Host to Tom and Jerry")
    assert calls(events) == ["rename"]
    speakers = (await api.state(sid))["script"]["speakers"]
    assert set(speakers.values()) == {"Tom and Jerry", "Guest"}


@pytest.mark.slow
async def test_a_follow_up_that_cannot_start_is_said_once_and_dropped(
    client: Client, media
) -> None:
    """On the strict server (3 credits): the second extraction would need 5."""
    sid = (await client.create_session()).session_id
    await client.upload_files(sid, [media["tone"], media["long"]])
    events = await ask(client, sid, "transcribe tone.mp4 and transcribe long.mp4")
    assert calls(events) == ["extract"]  # the second one never started: nothing of it kept
    [done] = responses(events)
    assert done["status"] == "completed"
    said = " ".join(e.text for e in events)
    assert "Not done: " in said and "credit" in said, said
    state = await client.state(sid)
    assert [j["status"] for j in state["jobs"]] == ["completed"]  # nothing else queued
    assert (await client.credits())["frozen"] == 0


async def test_help_among_requests_is_answered_and_the_rest_done(client: Client) -> None:
    sid = (await client.create_session()).session_id
    events = await ask(client, sid, "help and show credits")
    assert calls(events) == ["credits"]
    said = " ".join(e.text for e in events)
    assert said.startswith("I can: ") and "Credits: " in said


class _Watched(Store):
    """The real store, reading after each commit what a stream of ``watched`` would see."""

    watched: str | None = None
    ended_early: list[list[str]]

    def _committed(self) -> None:
        super()._committed()
        if self.watched is None:
            return
        rows, busy = self.poll_invocation(self.watched, 0)
        answered = [a["name"] for a in _answers(rows)]
        if not busy and "export" not in answered:
            self.ended_early.append(answered)


def _answers(rows: list) -> list[dict]:
    """The function responses among an invocation's stored events."""
    return [
        part["function_response"]
        for row in rows
        for part in json.loads(row["data"]).get("content", {}).get("parts", [])
        if "function_response" in part
    ]


@pytest.mark.slow
def test_a_stream_stays_open_until_the_follow_up_export_is_answered(tmp_path: Path) -> None:
    """The export that waited for a job is queued in the commit that takes it up: no
    committed state shows the invocation finished before the export's answer (a stream
    polling at that moment ended without it)."""
    store = _Watched(tmp_path / "data")
    store.ended_early = []
    backend, token, session, _ = backend_with_a_file(
        tmp_path, "reading_short.wav", 12_000, model="tiny.en", store=store
    )
    invocation = agent.handle(
        backend, session, token, "transcribe reading_short.wav and export srt"
    )
    store.watched = invocation
    job = jobs.claim(store, os.getpid())
    assert job is not None
    worker.run(store, job, "tiny.en", 100 * 1024 * 1024)
    assert actions.continue_pending(backend) == 1
    backend.exports.shutdown(wait=True)  # the export it submitted has run to its end
    assert store.ended_early == []
    rows, busy = store.poll_invocation(invocation, 0)
    assert not busy
    assert [(a["name"], a["response"]["status"]) for a in _answers(rows)] == [
        ("extract", "completed"),
        ("export", "completed"),
    ]

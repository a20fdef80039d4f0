""" "translate to English": refused with reasons on an English-only model, queued on a multilingual one.

The refusal is tested with a backend configured for ``--model tiny.en``, the
queueing with one configured for ``--model small`` (told multilingual by
name, never loaded); tests/backend/test_languages.py runs a real translation
with the bundled multilingual model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.backend.conftest import EXTRACT, backend_with_a_file
from tui.backend import agent, credits, jobs, worker
from tui.backend.config import Backend
from tui.client.http import Client


def parts(events: list[Any], key: str) -> list[dict[str, Any]]:
    return [p[key] for e in events if e.kind == "message" for p in e.parts if key in p]


def test_english_only_server_says_why_it_cannot_translate(tmp_path: Path) -> None:
    backend, token, session, _ = _backend(tmp_path, "tiny.en")
    before = credits.balance(backend.store, token)
    invocation = agent.handle(backend, session, token, "translate to English")
    rows, busy = backend.store.poll_invocation(invocation, 0)
    found = [p for r in rows for p in json.loads(r["data"]).get("content", {}).get("parts", [])]
    [call] = [p["function_call"] for p in found if "function_call" in p]
    [answer] = [p["function_response"] for p in found if "function_response" in p]
    assert call["name"] == answer["name"] == "translate" and call["id"] == answer["id"]
    assert answer["response"]["status"] == "unsupported"
    assert answer["response"]["model"] == "tiny.en"
    said = " ".join(p.get("text", "") for p in found)
    assert "understands English only" in said and "--model base" in said and "offline" in said
    assert not busy and backend.store.db.execute("SELECT * FROM jobs").fetchall() == []
    assert credits.balance(backend.store, token) == before  # nothing queued, nothing frozen


async def test_translate_names_a_missing_file(rich_client: Client) -> None:
    session = await rich_client.create_session()
    events = [e async for e in rich_client.run_sse(session.session_id, "translate file 3")]
    [answer] = parts(events, "function_response")
    assert answer["response"]["status"] == "no_file"


def _backend(tmp_path: Path, model: str | None) -> tuple[Backend, str, Any, str]:
    """A backend's store with a token, a session and one real uploaded file."""
    return backend_with_a_file(
        tmp_path, "reading_short.wav", 12_000, model=model, language="fr", starting_credits=10
    )


def test_multilingual_server_queues_a_translation_job(tmp_path: Path) -> None:
    backend, token, session, video_id = _backend(tmp_path, "small")
    invocation = agent.handle(backend, session, token, "translate to English")
    store = backend.store
    [job] = store.db.execute("SELECT * FROM jobs").fetchall()
    assert job["kind"] == "translate" and job["video_id"] == video_id
    options = json.loads(job["options"])
    assert options["task"] == "translate" and options["language"] == "fr"  # the session's hint
    assert credits.balance(store, token)["frozen"] == 1  # 12 s of media: one started minute
    rows, busy = store.poll_invocation(invocation, 0)
    said = " ".join(
        p.get("text", "") for r in rows for p in json.loads(r["data"])["content"]["parts"]
    )
    assert busy and "Translating into English: reading_short.wav" in said


@pytest.mark.slow
def test_the_worker_runs_the_engine_with_the_translate_task(tmp_path: Path) -> None:
    """The worker hands task=translate to the engine: the bundled model refuses it as a
    failed job, with its credits released and the answer named after the translate call."""
    backend, token, session, _ = _backend(tmp_path, "small")
    invocation = agent.handle(backend, session, token, "translate to English")
    store = backend.store
    job = jobs.claim(store, os.getpid())
    assert job is not None
    worker.run(store, job, "tiny.en", 100 * 1024 * 1024)  # English only: refused
    row = store.db.execute("SELECT * FROM jobs").fetchone()
    assert row["status"] == "failed" and row["error_code"] == 422
    assert row["error"] == (
        "reading_short.wav: the model tiny.en understands English only and cannot translate; "
        "translating to English needs a multilingual model (e.g. the bundled --model base)"
    )
    assert credits.balance(store, token)["frozen"] == 0
    assert credits.balance(store, token)["available"] == 10
    rows, busy = store.poll_invocation(invocation, 0)
    answers = [
        p["function_response"]
        for r in rows
        for p in json.loads(r["data"]).get("content", {}).get("parts", [])
        if "function_response" in p
    ]
    assert not busy and [a["name"] for a in answers] == ["translate"]
    assert answers[0]["response"]["status"] == "failed"


async def test_an_english_script_is_already_english(rich_client: Client, media) -> None:
    session = await rich_client.create_session()
    await rich_client.upload_files(session.session_id, [media["tone"]])
    [e async for e in rich_client.run_sse(session.session_id, EXTRACT)]
    events = [e async for e in rich_client.run_sse(session.session_id, "翻译成英文")]
    [answer] = parts(events, "function_response")
    assert answer["response"]["status"] == "ok" and answer["response"]["language"] == "en"
    assert len((await rich_client.state(session.session_id))["jobs"]) == 1  # no new job

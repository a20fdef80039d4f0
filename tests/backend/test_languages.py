"""The backend in other languages: the session's language, requests in words, real jobs.

Jobs run the real engine with the bundled multilingual model on real Spanish
and French speech (tests/data/lang_*), offline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import langid
import pytest

from tests.backend.conftest import backend_with_a_file
from tui.backend import agent, jobs, worker
from tui.backend.config import Backend

SPANISH = "lang_es_eval.mkv"
FRENCH = "lang_fr_eval.webm"


def _backend(tmp_path: Path, language: str, media: str) -> tuple[Backend, str, Any]:
    backend, token, session, _ = backend_with_a_file(tmp_path, media, 31_000, language=language)
    return backend, token, session


def _queued(backend: Backend, session: Any, token: str, text: str) -> dict[str, Any]:
    agent.handle(backend, session, token, text)
    job = backend.store.db.execute("SELECT * FROM jobs ORDER BY rowid DESC").fetchone()
    return {"kind": job["kind"], **json.loads(job["options"])}


@pytest.mark.parametrize(
    ("session_language", "text", "kind", "language"),
    [
        ("es", "transcribe", "script", "es"),  # the session's language is the hint
        ("auto", "transcribe", "script", "auto"),  # detected
        ("auto", "transcribe in Spanish", "script", "es"),
        ("en", "提取脚本，西班牙语", "script", "es"),
        ("es", "translate to English", "translate", "es"),
        ("auto", "翻译成英文", "translate", None),
    ],
)
def test_requests_in_words_set_the_language(
    tmp_path: Path, session_language: str, text: str, kind: str, language: str | None
) -> None:
    backend, token, session = _backend(tmp_path, session_language, SPANISH)
    options = _queued(backend, session, token, text)
    assert options["kind"] == kind
    assert options.get("language") == language
    if kind == "translate":
        assert options["task"] == "translate"


def _run(backend: Backend) -> dict[str, Any]:
    job = jobs.claim(backend.store, os.getpid())
    assert job is not None
    worker.run(backend.store, job, None, 100 * 1024 * 1024)  # None: the default models
    row = backend.store.db.execute("SELECT * FROM jobs WHERE id=?", (job["id"],)).fetchone()
    assert row["status"] == "completed", row["error"]
    return row


@pytest.mark.slow
def test_a_spanish_job_detects_spanish_and_says_so(tmp_path: Path) -> None:
    backend, token, session = _backend(tmp_path, "auto", SPANISH)
    invocation = agent.handle(backend, session, token, "transcribe")
    _run(backend)
    [raw] = backend.store.scripts(session["id"]).values()
    assert raw["language"] == "es" and raw["languages"] == ["es"]
    rows, _ = backend.store.poll_invocation(invocation, 0)
    said = " ".join(
        p.get("text", "")
        for r in rows
        for p in json.loads(r["data"]).get("content", {}).get("parts", [])
    )
    assert f"The script of {SPANISH} is ready (in Spanish): 1 speaker, " in said  # the Log's line


@pytest.mark.slow
def test_translate_to_english_runs_offline_on_french(tmp_path: Path) -> None:
    backend, token, session = _backend(tmp_path, "auto", FRENCH)
    agent.handle(backend, session, token, "translate to English")
    _run(backend)
    [raw] = backend.store.scripts(session["id"]).values()
    assert raw["language"] == "en" and raw["translated_from"] == "fr"
    text = " ".join(t["text"] for t in raw["turns"])
    langid.set_languages(["en", "es", "fr", "it", "ru"])
    assert langid.classify(text)[0] == "en", text


def test_rename_with_a_chinese_name(tmp_path: Path) -> None:
    from tui.engine.script import Script, Turn, Word

    backend, token, session = _backend(tmp_path, "zh", SPANISH)
    [video] = backend.store.db.execute("SELECT video_id FROM files").fetchall()
    words = [Word("大家", 0, 400), Word("好。", 400, 800)]
    script = Script(video_id=video["video_id"], language="zh", speakers={"S1": "Speaker 1"})
    script.turns = [Turn("S1", 0, 800, "大家好。", words)]
    with backend.store.tx() as db:
        backend.store.save_script(db, session["id"], script.to_dict())
    agent.handle(backend, session, token, "把 Speaker 1 改名为 王芳")
    saved = backend.store.script(video["video_id"])
    assert saved["speakers"] == {"S1": "王芳"} and saved["turns"][0]["text"] == "大家好。"

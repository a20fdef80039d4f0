"""A session's state as docs/api.md's ``state`` object, with the draft timeline in short keys.

``draft`` shows one file at a time (the one the latest script is of, else the
latest upload): ``{"d": total_ms, "t": [tracks]}`` with a video track (tt 0:
the file), an audio track (tt 1: speech regions) and a text track (tt 7: one
segment per script turn, ``m`` = ``{speaker, text}``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request

from tui.backend import exports
from tui.backend.config import Backend
from tui.engine.script import Script, join_words, realign_words

VIDEO, AUDIO, TEXT = 0, 1, 7


def build_draft(file: dict[str, Any] | None, script: dict[str, Any] | None) -> dict[str, Any]:
    """The draft timeline of one file and its script (either may be missing)."""
    if file is None:
        return {"d": 0, "t": []}
    turns = (script or {}).get("turns") or []
    total = int(file.get("duration_ms") or 0)
    if turns:
        total = max(total, max(int(t["end_ms"]) for t in turns))
    video = {
        "tt": VIDEO,
        "sg": [
            {
                "s": 0,
                "d": total,
                "m": {
                    "video_id": file["video_id"],
                    "name": file.get("name"),
                    "has_audio": file.get("has_audio"),
                },
            }
        ],
        "m": {"name": "video"},
    }
    speech = (script or {}).get("speech") or [[t["start_ms"], t["end_ms"]] for t in turns]
    audio = {
        "tt": AUDIO,
        "sg": [{"s": int(s), "d": max(0, int(e) - int(s)), "m": {}} for s, e in speech],
        "m": {"name": "speech"},
    }
    speakers = (script or {}).get("speakers") or {}
    text = {
        "tt": TEXT,
        "sg": [
            {
                "s": int(t["start_ms"]),
                "d": max(0, int(t["end_ms"]) - int(t["start_ms"])),
                "m": {
                    "speaker": speakers.get(t["speaker"], t["speaker"]),
                    "speaker_id": t["speaker"],
                    "text": t["text"],
                },
            }
            for t in turns
        ],
        "m": {"name": "script", "speakers": speakers},
    }
    return {"d": total, "t": [video, audio, text], "video_id": file["video_id"]}


def align_edits(script: Script) -> Script:
    """Re-time turns whose text was edited (text no longer matches its words).

    Unchanged words keep their times and new ones take their neighbours',
    so subtitles from an edited script stay in sync whatever client edited it.
    """
    for turn in script.turns:
        if " ".join(turn.text.split()) != join_words(w.w for w in turn.words):
            turn.words = realign_words(turn.words, turn.text, turn.start_ms, turn.end_ms)
            turn.text = " ".join(turn.text.split())
            if turn.words:
                turn.start_ms, turn.end_ms = turn.words[0].s, turn.words[-1].e
    return script


def session_state(backend: Backend, session: sqlite3.Row, request: Request) -> dict[str, Any]:
    store = backend.store
    session_id = session["id"]
    files = store.files(session_id)
    scripts = store.scripts(session_id)
    latest = session["latest_video_id"]
    script = scripts.get(latest) if latest else None
    if script is None and scripts:
        script = list(scripts.values())[-1]
    shown = next((f for f in files if script and f["video_id"] == script["video_id"]), None)
    if shown is None and files:
        shown = next((f for f in files if f["video_id"] == latest), files[-1])
    jobs = [
        {
            "id": j["id"],
            "kind": j["kind"],
            "video_id": j["video_id"],
            "status": j["status"],
            "stage": j["stage"],
            "progress": j["progress"],
            "error": j["error"],
            "error_code": j["error_code"],
            "eta_s": j["eta_s"],
            "credits_frozen": j["frozen"],
            "credits_charged": j["charged"],
        }
        for j in store.jobs(session_id)
    ]
    return {
        "draft": build_draft(shown, scripts.get(shown["video_id"]) if shown else None),
        "video_infos": files,
        "generated_media": [exports.media_entry(row, request) for row in store.exports(session_id)],
        "scripts": scripts,
        "script": script,
        "jobs": jobs,
        "language": session["language"],
    }

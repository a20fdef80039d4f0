"""The whole flow of docs/api.md against a real server, with the real engine on real speech."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.backend.conftest import EXTRACT
from tui.client.http import Client, Event, InvalidRequest
from tui.engine.media import probe
from tui.engine.pipeline import STAGES


async def collect(api: Client, session_id: str, text: str) -> list[Event]:
    return [event async for event in api.run_sse(session_id, text)]


def answer(events: list[Event]) -> str:
    return " ".join(e.text for e in events if e.kind == "message" and e.text)


async def test_extract_edit_export_end_to_end(
    rich_client: Client, speech_video: Path, tmp_path: Path
) -> None:
    api = rich_client
    health = await api.health()
    assert health["status"] == "ok" and health["version"] and health["model"] and health["device"]
    before = await api.credits()
    session = await api.create_session(language="en")
    [info] = await api.upload_files(session.session_id, [speech_video])
    assert info["name"] == speech_video.name and info["has_audio"] and info["format"] == "mp4"
    assert info["duration_ms"] > 1000 and info["size"] == speech_video.stat().st_size

    events = await collect(api, session.session_id, EXTRACT)
    ids = [int(e.id) for e in events if e.kind != "heartbeat"]
    assert all(e.id for e in events) and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[0].function_calls[0]["name"] == "extract"
    progress = [e.data for e in events if e.kind == "progress"]
    stages = [p["stage"] for p in progress]
    assert set(stages) <= set(STAGES) and "transcribing" in stages
    assert stages == sorted(stages, key=STAGES.index)  # stages come in order
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and 0 <= values[0] and values[-1] <= 1
    [done] = [r for e in events for r in e.function_responses]
    assert done["response"]["status"] == "completed", done
    assert done["response"]["turns"] >= 2 and "ready" in answer(events)

    state = await api.state(session.session_id)
    script = state["script"]
    video_id = info["video_id"]
    assert script["video_id"] == video_id and state["scripts"][video_id] == script
    assert script["revision"] == 1 and len(script["turns"]) >= 2
    assert all(w.keys() >= {"w", "s", "e", "p"} for t in script["turns"] for w in t["words"])
    text = " ".join(t["text"] for t in script["turns"]).lower()
    assert len(text.split()) >= 10, text
    draft = state["draft"]
    assert [t["tt"] for t in draft["t"]] == [0, 1, 7] and draft["d"] >= script["turns"][-1][
        "end_ms"
    ]
    assert len(draft["t"][2]["sg"]) == len(script["turns"])
    assert draft["t"][2]["sg"][0]["m"]["text"] == script["turns"][0]["text"]
    assert state["video_infos"] == [info]
    [job] = state["jobs"]
    assert job["status"] == "completed" and job["progress"] == 1.0 and job["video_id"] == video_id

    after = await api.credits()
    minutes = -(-info["duration_ms"] // 60000)
    assert after["total"] == before["total"] - minutes and after["frozen"] == 0

    # Edits in words, then by PUT with the revision it was based on.
    renamed = await collect(api, session.session_id, "rename Speaker 1 to Diane")
    assert "Diane" in answer(renamed)
    await collect(api, session.session_id, "Speaker 2 is Sheila")
    state = await api.state(session.session_id)
    assert state["script"]["revision"] == 3
    assert set(state["script"]["speakers"].values()) >= {"Diane"}
    edited = dict(state["script"])
    first = edited["turns"][0]
    first["text"] = first["text"] + " Indeed."
    saved = await api.put_script(session.session_id, edited)
    assert saved["revision"] == 4 and saved["turns"][0]["text"].endswith("Indeed.")
    assert saved["turns"][0]["words"][-1]["w"] == "Indeed."

    # Every other thing the agent understands answers in words, never with an error.
    for message in ("status", "状态", "credits", "积分", "余额", "remove filler words", "help",
                    "translate to English", "what is the weather like?"):  # fmt: skip
        reply = await collect(api, session.session_id, message)
        assert answer(reply), message

    # Exports: every format through render + poll + download.
    for fmt in ("md", "txt", "srt", "vtt", "json", "docx", "fountain", "mp4", "rttm"):
        out = await api.export(session.session_id, fmt, tmp_path / f"out.{fmt}")
        assert out.stat().st_size > 0, fmt
        if fmt in ("md", "txt", "fountain"):
            assert "Diane" in out.read_text() or "DIANE" in out.read_text()
        if fmt == "srt":
            assert "-->" in out.read_text()
        if fmt == "docx":
            assert zipfile.is_zipfile(out)
        if fmt == "mp4":
            assert probe(out).has_audio
        if fmt == "rttm":
            assert out.read_text().startswith("SPEAKER ") and "Diane" in out.read_text()
    said = await collect(api, session.session_id, "export srt")
    [exported] = [r["response"] for e in said for r in e.function_responses]
    assert exported["status"] == "completed" and exported["url"].endswith("/download")
    state = await api.state(session.session_id)
    formats = [m["format"] for m in state["generated_media"]]
    assert sorted(formats) == sorted(
        ["md", "txt", "srt", "vtt", "json", "docx", "fountain", "mp4", "rttm", "srt"]
    )
    assert all(m["url"] and m["size"] and m["created_at"] for m in state["generated_media"])
    assert (await api.credits())["total"] == after["total"]  # exports cost nothing


async def test_no_audio_file_is_accepted_but_cannot_be_scripted(rich_client: Client, media) -> None:
    session = await rich_client.create_session()
    [info] = await rich_client.upload_files(session.session_id, [media["silent"]])
    assert info["has_audio"] is False
    reply = await collect(rich_client, session.session_id, EXTRACT)
    assert "no audio" in answer(reply)
    assert (await rich_client.state(session.session_id))["jobs"] == []
    with pytest.raises(InvalidRequest, match="no script"):
        await rich_client.export(session.session_id, "md", Path("/nonexistent/never.md"))


async def test_batch_session_scripts_each_file(rich_client: Client, media, tmp_path: Path) -> None:
    session = await rich_client.create_session()
    files = await rich_client.upload_files(session.session_id, [media["tone"], media["long"]])
    assert len(files) == 2
    again = await rich_client.upload_files(session.session_id, [media["tone"]])
    assert again[0]["video_id"] == files[0]["video_id"]  # same content, same file
    reply = await collect(rich_client, session.session_id, "transcribe file 1 with 2 speakers")
    [call] = [c for e in reply for c in e.function_calls]
    assert call["args"]["file"] == 1 and call["args"]["speakers"] == 2
    [done] = [r["response"] for e in reply for r in e.function_responses]
    assert done["status"] == "completed" and done["video_id"] == files[0]["video_id"]
    state = await rich_client.state(session.session_id)
    assert list(state["scripts"]) == [files[0]["video_id"]]

"""SSE events to log messages, and what a text-less stream's summary says."""

from __future__ import annotations

from datetime import datetime

from tests.app.sample import sample_state
from tui.app.connection import explain
from tui.app.messages import Heartbeat, JobProgress, LogLine
from tui.app.stream import event_messages, summarise
from tui.client.types import Event, SessionState

AT = datetime(2026, 1, 1, 9, 0, 0)


def test_each_kind_of_event_becomes_its_message() -> None:
    (beat,), text = event_messages(Event("heartbeat", {"ts": 1}), AT)
    assert isinstance(beat, Heartbeat) and not text
    (progress,), _ = event_messages(
        Event("progress", {"job_id": "j1", "stage": "vad", "progress": 0.5, "eta_s": 12}), AT
    )
    assert isinstance(progress, JobProgress) and (progress.stage, progress.eta_s) == ("vad", 12)
    agent = {
        "partial": False,
        "content": {
            "role": "model",
            "parts": [
                {"function_call": {"id": "c1", "name": "extract", "args": {"file": "a.mp4"}}},
                {"function_response": {"id": "c1", "name": "extract", "response": {"ok": 1}}},
                {"text": "Done."},
            ],
        },
    }
    messages, text = event_messages(Event("message", agent), AT)
    assert text and [m.kind for m in messages if isinstance(m, LogLine)] == [
        "call",
        "result",
        "text",
    ]
    assert messages[0].text == "extract(file=a.mp4)"
    assert messages[1].text == "extract: ok=1"
    # A partial event is followed by the whole one: not logged twice.
    assert event_messages(Event("message", {**agent, "partial": True}), AT) == ([], False)


def test_progress_floods_fold() -> None:
    first = JobProgress("j1", "vad", 0.1, None, AT)
    assert first.can_replace(JobProgress("j1", "vad", 0.2, None, AT))
    assert not first.can_replace(JobProgress("j2", "vad", 0.2, None, AT))
    assert Heartbeat(AT).can_replace(Heartbeat(AT))


def test_summary_of_a_stream_without_text() -> None:
    before = SessionState.from_dict({"jobs": [], "generated_media": []})
    raw = sample_state()
    raw["generated_media"] = [{"id": "m1", "format": "srt", "size": 120}]
    after = SessionState.from_dict(raw)
    lines = summarise(before, after)
    assert lines == [
        "council.mp4: script done",
        "council.mp4: script revision 1: 8 turns, 2 speakers (Diane, Speaker 2)",
        "srt export ready",
    ]
    assert summarise(after, after) == ["nothing changed in the session"]


def test_error_lines_say_what_to_do() -> None:
    assert "Supported: mp4" in explain(4001, "bad.mp4: cannot decode")
    assert "Trim or compress" in explain(4002, "too big")
    assert "credits" in explain(2001, "this needs 3 credits")
    assert "not about credits" in explain(402, "attribution headers missing")
    # Advice is not repeated when the server's message already gives it.
    assert "Supported:" not in explain(4001, "x; supported: mp4, mov")

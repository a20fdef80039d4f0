"""A hand-built session state for snapshot tests: two speakers, one minute, fixed times."""

from __future__ import annotations

from typing import Any

from tui.engine.script import Script, Turn, Word

_LINES = [
    ("S1", 1_000, "Good morning, and welcome to the council meeting."),
    ("S2", 5_500, "Thank you. I have two items on the agenda today."),
    ("S1", 11_000, "Go ahead with the first one."),
    ("S2", 14_000, "The bridge repairs are running late, by about three weeks."),
    ("S1", 22_500, "Do we know why?"),
    ("S2", 25_000, "The steel delivery slipped. The contractor says it arrives on Monday."),
    ("S1", 36_000, "Then let's put it on next month's agenda and move on."),
    ("S2", 42_000, "The second item is the library's opening hours."),
]


def sample_script() -> Script:
    """A script whose words are spread evenly over each turn."""
    turns = []
    for speaker, start, text in _LINES:
        tokens = text.split()
        words = [Word(t, start + i * 400, start + i * 400 + 350, 0.9) for i, t in enumerate(tokens)]
        turns.append(Turn(speaker, start, words[-1].e, text, words))
    return Script(
        video_id="v1",
        revision=1,
        language="en",
        speakers={"S1": "Diane", "S2": "Speaker 2"},
        turns=turns,
        source="council.mp4",
        duration_ms=60_000,
    )


def sample_state() -> dict[str, Any]:
    """docs/api.md's ``state`` object for :func:`sample_script`."""
    script = sample_script()
    speech = [{"s": t.start_ms, "d": t.end_ms - t.start_ms, "m": {}} for t in script.turns]
    text = [
        {"s": t.start_ms, "d": t.end_ms - t.start_ms, "m": {"speaker": t.speaker, "text": t.text}}
        for t in script.turns
    ]
    return {
        "draft": {
            "d": 60_000,
            "t": [
                {
                    "tt": 0,
                    "sg": [{"s": 0, "d": 60_000, "m": {"name": "council.mp4", "video_id": "v1"}}],
                    "m": {},
                },
                {"tt": 1, "sg": speech, "m": {}},
                {"tt": 7, "sg": text, "m": {}},
            ],
        },
        "video_infos": [
            {
                "video_id": "v1",
                "name": "council.mp4",
                "size": 1_234_567,
                "duration_ms": 60_000,
                "width": 640,
                "height": 360,
                "has_audio": True,
                "format": "mp4",
            }
        ],
        "generated_media": [],
        "scripts": {"v1": script.to_dict()},
        "script": script.to_dict(),
        "jobs": [
            {
                "id": "j1",
                "kind": "extract",
                "video_id": "v1",
                "status": "completed",
                "stage": "writing",
                "progress": 1.0,
                "error": None,
            }
        ],
    }

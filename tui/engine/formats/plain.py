"""Plain text (``[00:01:23] Speaker 1: text`` paragraphs) and JSON (docs/api.md's script object)."""

from __future__ import annotations

import json

from tui.engine.formats.common import NO_SPEECH
from tui.engine.script import Script
from tui.engine.timecode import clock


def render(script: Script, *, timestamps: bool = True) -> str:
    if not script.turns:
        return NO_SPEECH + "\n"
    paragraphs = []
    for turn in script.turns:
        stamp = f"[{clock(turn.start_ms)}] " if timestamps else ""
        paragraphs.append(f"{stamp}{script.speaker_name(turn.speaker)}: {turn.text}")
    return "\n\n".join(paragraphs) + "\n"


def render_json(script: Script, *, timestamps: bool = True) -> str:
    # Timings are the point of the JSON form; ``timestamps`` only affects prose formats.
    return json.dumps(script.to_dict(), ensure_ascii=False, indent=2) + "\n"

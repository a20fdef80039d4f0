"""Fountain (screenplay markup): a title page, then each turn as character + dialogue."""

from __future__ import annotations

from tui.engine.formats.common import NO_SPEECH, language_line, title
from tui.engine.script import Script
from tui.engine.timecode import clock


def render(script: Script, *, timestamps: bool = True) -> str:
    lines = [f"Title: {title(script)}"]
    if script.source:
        lines.append(f"Source: {script.source}")
    heard = f"{language_line(script)} audio" if script.turns else "audio with no speech"
    lines += [f"Draft date: {clock(script.duration_ms)} of {heard}", ""]
    if not script.turns:
        lines += [f"[[{NO_SPEECH}]]", ""]
    for turn in script.turns:
        # A character cue is an all-caps line; "@" forces it for names with lower case or digits.
        name = script.speaker_name(turn.speaker).upper()
        lines.append(f"@{name}")
        if timestamps:
            lines.append(f"[[{clock(turn.start_ms)}]]")
        lines += [turn.text, ""]
    return "\n".join(lines)

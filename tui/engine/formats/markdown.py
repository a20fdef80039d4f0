"""Markdown: a short header, then one paragraph per turn ``**[00:01:23] Speaker 1:** text``."""

from __future__ import annotations

from tui.engine.formats.common import NO_SPEECH, language_line, speaker_list, title
from tui.engine.script import Script
from tui.engine.timecode import clock


def render(script: Script, *, timestamps: bool = True) -> str:
    lines = [f"# {title(script)}", ""]
    if script.source:
        lines.append(f"- Source: {script.source}")
    lines += [
        f"- Duration: {clock(script.duration_ms)}",
        f"- Speakers: {speaker_list(script)}",
        f"- Language: {language_line(script)}",
    ]
    if script.model:
        lines.append(f"- Model: {script.model}")
    lines.append("")
    if not script.turns:
        lines += [f"_{NO_SPEECH}_", ""]
    for turn in script.turns:
        stamp = f"[{clock(turn.start_ms)}] " if timestamps else ""
        lines += [f"**{stamp}{script.speaker_name(turn.speaker)}:** {turn.text}", ""]
    return "\n".join(lines)

"""RTTM: who speaks when, one line per speaker segment, as diarization tools read it.

``SPEAKER <file> 1 <start s> <duration s> <NA> <NA> <speaker> <NA> <NA>`` (the
NIST Rich Transcription Time Marked format that pyannote, DIHARD and the
scoring tools use).  The lines are the labeller's segments (the script's
``segments``): speech without recognised words is included, and two people
talking at once give overlapping lines.  A script without segments (labelled
elsewhere, or before they were kept) falls back to its turns' spans.
Speakers are written by their display names (renames included) with spaces
as ``_``, since RTTM fields are split on whitespace; the file id is the
source's name the same way.
"""

from __future__ import annotations

from pathlib import Path

from tui.engine.script import Script


def render(script: Script, *, timestamps: bool = True) -> str:
    uri = _token(Path(script.source).stem if script.source else "script")
    spans = script.segments or [(t.start_ms, t.end_ms, t.speaker) for t in script.turns]
    lines = []
    for start, end, who in sorted(spans):
        if end <= start:
            continue
        name = _token(script.speaker_name(who))
        lines.append(
            f"SPEAKER {uri} 1 {start / 1000:.3f} {(end - start) / 1000:.3f} <NA> <NA> {name} <NA> <NA>"
        )
    return "".join(line + "\n" for line in lines)


def _token(text: str) -> str:
    """One whitespace-free RTTM field."""
    return "_".join(text.split()) or "NA"

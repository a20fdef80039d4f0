"""Word (DOCX) via python-docx: a title, the header facts, one paragraph per turn."""

from __future__ import annotations

from pathlib import Path

from tui.engine.formats.common import NO_SPEECH, clock, speaker_list, title
from tui.engine.script import Script


def write_docx(script: Script, path: Path, *, timestamps: bool = True) -> None:
    import docx  # python-docx; imported here so other formats never pay for it

    doc = docx.Document()
    doc.add_heading(title(script), level=1)
    facts = [
        ("Source", script.source),
        ("Duration", clock(script.duration_ms)),
        ("Speakers", speaker_list(script)),
        ("Language", script.language),
        ("Model", script.model),
    ]
    doc.add_paragraph("\n".join(f"{k}: {v}" for k, v in facts if v))
    if not script.turns:
        doc.add_paragraph(NO_SPEECH).runs[0].italic = True
    for turn in script.turns:
        para = doc.add_paragraph()
        stamp = f"[{clock(turn.start_ms)}] " if timestamps else ""
        para.add_run(f"{stamp}{script.speaker_name(turn.speaker)}: ").bold = True
        para.add_run(turn.text)
    doc.save(str(path))

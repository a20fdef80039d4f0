"""Word (DOCX) via python-docx: a title, the header facts, one paragraph per turn.

Text is stored in logical order, whatever the script; a turn in a
right-to-left script (Arabic, Hebrew) gets a right-to-left paragraph and runs
(``w:bidi``, ``w:rtl``), and every run says its language (``w:lang``), so Word
shapes, orders and spell-checks it as that language.
"""

from __future__ import annotations

from pathlib import Path

from tui.engine import writing
from tui.engine.formats.common import NO_SPEECH, language_line, speaker_list, title
from tui.engine.script import Script
from tui.engine.timecode import clock


def write_docx(script: Script, path: Path, *, timestamps: bool = True) -> None:
    import docx  # python-docx; imported here so other formats never pay for it

    doc = docx.Document()
    doc.add_heading(title(script), level=1)
    facts = [
        ("Source", script.source),
        ("Duration", clock(script.duration_ms)),
        ("Speakers", speaker_list(script)),
        ("Language", language_line(script)),
        ("Model", script.model),
    ]
    doc.add_paragraph("\n".join(f"{k}: {v}" for k, v in facts if v))
    if not script.turns:
        doc.add_paragraph(NO_SPEECH).runs[0].italic = True
    for turn in script.turns:
        para = doc.add_paragraph()
        stamp = f"[{clock(turn.start_ms)}] " if timestamps else ""
        label = para.add_run(f"{stamp}{script.speaker_name(turn.speaker)}: ")
        label.bold = True
        text = para.add_run(turn.text)
        language = turn.language or script.language
        rtl = writing.is_rtl(turn.text)
        if rtl:
            _right_to_left(para)
        for run in (label, text):
            _mark(run, language, rtl and writing.is_rtl(run.text))
    doc.save(str(path))


def _right_to_left(para: object) -> None:
    from docx.oxml import OxmlElement

    ppr = para._p.get_or_add_pPr()  # type: ignore[attr-defined]
    ppr.append(OxmlElement("w:bidi"))


def _mark(run: object, language: str, rtl: bool) -> None:
    """Give a run its language (and right-to-left direction) in its properties."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = run._r.get_or_add_rPr()  # type: ignore[attr-defined]
    if rtl:
        rpr.append(OxmlElement("w:rtl"))
    lang = OxmlElement("w:lang")
    slot = "w:bidi" if rtl else "w:eastAsia" if writing.has_no_space_script(run.text) else "w:val"  # type: ignore[attr-defined]
    lang.set(qn(slot), language)
    rpr.append(lang)

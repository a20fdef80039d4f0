"""The script pane's status line names the detected language (plain English says nothing)."""

from __future__ import annotations

from tui.app.panes.script_editor import language_note
from tui.engine.script import Script


def test_the_status_line_names_the_language() -> None:
    assert language_note(None) == ""
    assert language_note(Script(language="en", languages=["en"])) == ""
    assert language_note(Script(language="es", languages=["es"])) == "Spanish"
    assert language_note(Script(language="es", languages=["es", "fr"])) == "Spanish, French"
    translated = Script(language="en", languages=["en"], translated_from="fr")
    assert language_note(translated) == "English, translated from French"

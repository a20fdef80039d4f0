"""The app's keys: every binding of the App, and the palette's extra commands.

The panes keep their own keys (each pane's ``BINDINGS``); these work
anywhere.  Pane keys are F-keys (and Alt+digit where the terminal reports
Alt), which never type into the editor or the prompt bar, and bare digits
where the focus does not type.  The help screen (F1) and the command
palette both read these bindings, so they list exactly what works.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

#: The panes in the order of the number keys 1-4 (5 is the prompt bar).
PANES = ("files", "log", "timeline", "script", "prompt")
PANE_TITLES = {"files": "Files", "log": "Log", "timeline": "Timeline", "script": "Script"}


def _pane_bindings(number: int, pane: str) -> list[Binding]:
    """``F(N+1)`` moves to pane N from anywhere, the editor and the prompt bar included (an
    F-key types nothing and reaches the app intact through tmux and SSH), as does
    ``alt+N`` where the terminal reports Alt; ``N`` too, where the focus doesn't type."""
    title = PANE_TITLES.get(pane, "Prompt")
    tooltip = f"Move to the {title} pane"
    return [
        # Priority, so that the editor and the prompt bar don't take them as typing.
        Binding(
            f"f{number + 1},alt+{number}",
            f"focus_pane('{pane}')",
            title,
            show=False,
            priority=True,
            id=f"app.pane_{pane}",
            tooltip=tooltip,
        ),
        Binding(
            str(number),
            f"focus_pane('{pane}')",
            title,
            show=False,
            id=f"app.pane_{pane}_digit",
            tooltip=f"{tooltip} (outside text)",
        ),
    ]


#: The App's bindings.
APP_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+q",
        "quit",
        "Quit",
        id="app.quit",
        priority=True,
        tooltip="Quit (asks first about unsaved changes or a running job)",
    ),
    Binding(
        "ctrl+s",
        "save",
        "Save",
        id="app.save",
        tooltip="Save the edited script (re-aligned to the timings)",
    ),
    Binding(
        "ctrl+o",
        "export",
        "Export",
        id="app.export",
        tooltip="Export the script to a file (md, srt, vtt, docx, ...)",
    ),
    Binding(
        "ctrl+n", "speakers", "Speakers", id="app.speakers", tooltip="Rename or merge speakers"
    ),
    Binding(
        "ctrl+r",
        "voices",
        "Voices",
        show=False,
        id="app.voices",
        tooltip="Remembered voices: rename, merge, forget",
    ),
    Binding(
        "ctrl+g",
        "cancel_job",
        "Cancel job",
        show=False,
        id="app.cancel",
        tooltip="Stop the running job",
    ),
    Binding(
        "ctrl+t",
        "toggle_theme",
        "Theme",
        show=False,
        id="app.theme",
        tooltip="Switch between the dark and the light theme",
    ),
    Binding(
        "f1",
        "help",
        "Help",
        priority=True,
        id="app.help",
        tooltip="Every key, by where it works",
    ),
    Binding(
        "question_mark",
        "help",
        "Help",
        show=False,
        id="app.help_question",
        tooltip="Every key (outside text)",
    ),
    Binding(
        "escape",
        "close_panels",
        "Close",
        show=False,
        id="app.close_panels",
        tooltip="Close the keys panel",
    ),
    *(b for n, pane in enumerate(PANES, start=1) for b in _pane_bindings(n, pane)),
]

#: Commands of the palette with no key of their own: (title, help, action).
EXTRA_COMMANDS = [
    ("Credits", "Show the credit balance", "prompt_command('credits')"),
    ("Status", "Show the session's files, jobs and script", "prompt_command('status')"),
    ("Reconnect", "Try reaching the backend again", "reconnect"),
]

"""The options ``reelscript`` and its commands share.

The group's own options (``--server``, ``--token-file``, ``--data-dir``,
``--diarizer``), which a command may take after its name too
(:func:`also_after`: ``reelscript serve --data-dir DIR``); the team options of
``serve`` and ``worker``; the speaker-label methods.
"""

from __future__ import annotations

from pathlib import Path

import click

#: Speaker-label methods (tui.engine.diarize.get_diarizer).
DIARIZERS = ["builtin", "campplus", "pyannote", "none"]

#: The options of ``reelscript`` itself: ``(declarations, settings)`` by name.  Those a
#: subcommand also takes (:func:`also_after`) work after its name too, where they win.
GROUP_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "server": (
        ("--server",),
        {
            "metavar": "URL",
            "envvar": "REELSCRIPT_SERVER",
            "help": "Use this backend instead of starting one.",
        },
    ),
    "token_file": (
        ("--token-file",),
        {
            "type": click.Path(dir_okay=False, path_type=Path),
            "help": "Where the API token is kept.",
        },
    ),
    "data_dir": (
        ("--data-dir",),
        {
            "type": click.Path(file_okay=False, path_type=Path),
            "envvar": "REELSCRIPT_HOME",
            "help": "Data folder (default: the platform's data dir).",
        },
    ),
    "diarizer": (
        ("--diarizer",),
        {
            "type": click.Choice(DIARIZERS),
            "help": "Speaker labels (default builtin): of `transcribe`, and of the backend that "
            "the app and `watch` start for themselves (a --server has its own: "
            "`serve --diarizer`).",
        },
    ),
}


def _given_after(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """A group option given after the subcommand's name: it replaces the group's value."""
    if value is not None and param.name:
        ctx.ensure_object(dict)[param.name] = value
    return value


def also_after(*names: str):  # type: ignore[no-untyped-def]
    """Let the subcommand take the group options ``names`` too (``serve --data-dir DIR``)."""

    def decorate(command):  # type: ignore[no-untyped-def]
        for name in reversed(names):
            declarations, settings = GROUP_OPTIONS[name]
            settings = {k: v for k, v in settings.items() if k != "envvar"}  # the group reads it
            command = click.option(
                *declarations, expose_value=False, callback=_given_after, **settings
            )(command)
        return command

    return decorate


def group_options(command):  # type: ignore[no-untyped-def]
    """The group's own options, on ``reelscript`` itself."""
    for declarations, settings in reversed(GROUP_OPTIONS.values()):
        command = click.option(*declarations, **settings)(command)  # type: ignore[arg-type]
    return command


def picture_options(command):  # type: ignore[no-untyped-def]
    """--frame, --fit: the captioned export's frame and how a picture fills it."""
    from tui.engine.formats.names import FITS, FRAMES

    command = click.option(
        "--fit",
        type=click.Choice(FITS),
        default="blur",
        show_default=True,
        help="A picture of another shape than the frame: whole over a blurred fill, or cropped.",
    )(command)
    return click.option(
        "--frame",
        type=click.Choice(list(FRAMES)),
        default="16:9",
        show_default=True,
        help="Frame of the captioned export: 1920x1080, 1080x1920 (vertical) or the video's own.",
    )(command)


def team_options(command):  # type: ignore[no-untyped-def]
    """--database, --queue, --storage: a team's shared services (docs/team.md)."""
    for option in reversed(
        [
            click.option(
                "--database",
                envvar="REELSCRIPT_DATABASE_URL",
                help="PostgreSQL URL shared by every API and worker process (team mode).",
            ),
            click.option(
                "--queue",
                envvar="REELSCRIPT_QUEUE_URL",
                help="Redis URL of the job queue (Dramatiq) shared by the team.",
            ),
            click.option(
                "--storage",
                envvar="REELSCRIPT_STORAGE",
                type=click.Path(file_okay=False, path_type=Path),
                help="Storage root every process shares (uploads, exports, temp files).",
            ),
        ]
    ):
        command = option(command)
    return command


def team_settings(options: dict[str, object]) -> dict[str, object]:
    """The team options as Config fields; all three or none (one clear line otherwise)."""
    values = {name: options.pop(name) for name in ("database", "queue", "storage")}
    given = [name for name, value in values.items() if value]
    if not given:
        return {}
    missing = [f"--{name}" for name, value in values.items() if not value]
    if missing:
        raise click.UsageError(
            f"a team needs --database, --queue and --storage: {', '.join(missing)} missing"
        )
    if not str(values["database"]).startswith(("postgresql://", "postgres://")):
        raise click.UsageError("--database must be a postgresql:// URL")
    return {
        "database_url": values["database"],
        "queue_url": values["queue"],
        "storage": Path(str(values["storage"])),
    }

"""The ``reelscript`` command: the app (default), ``transcribe``, ``watch`` and ``serve``.

Kept small on purpose: each command parses its options and hands them to the
module that does the work, imported lazily so that ``reelscript --help`` is
instant and ``transcribe`` never loads Textual.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from tui import __version__
from tui.cli.options import (
    DIARIZERS,
    also_after,
    group_options,
    picture_options,
    team_options,
    team_settings,
)
from tui.engine.formats.names import formats_help


class _AppByDefault(click.Group):
    """A group where ``reelscript [PATH]`` (no command name) opens the app."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands:
            return "open", self.commands["open"], args
        return super().resolve_command(ctx, args)


@click.group(
    cls=_AppByDefault,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@group_options
@click.version_option(__version__, prog_name="reelscript")
@click.pass_context
def main(
    ctx: click.Context,
    server: str | None,
    token_file: Path | None,
    data_dir: Path | None,
    diarizer: str | None,
) -> None:
    """reelscript: turn videos into speaker-labelled scripts, offline.

    With no command, opens the terminal app (on PATH, a folder or a video).
    The options below also work after the command's name where it takes them
    (reelscript serve --data-dir DIR, reelscript watch DIR --diarizer none).
    """
    ctx.ensure_object(dict)
    ctx.obj.update(server=server, token_file=token_file, data_dir=data_dir, diarizer=diarizer)
    if ctx.invoked_subcommand is None:
        ctx.invoke(open_app, path=None)


@main.command("open", hidden=True)
@click.argument("path", required=False, type=click.Path(path_type=Path))
@also_after("server", "token_file", "data_dir", "diarizer")
@click.pass_context
def open_app(ctx: click.Context, path: Path | None) -> None:
    """Open the app on PATH (a folder to browse, or a video to script at once)."""
    from tui.app.app import run_app

    _no_diarizer_for_a_server(ctx.obj)
    sys.exit(run_app(path=path, **ctx.obj))


def _diarizer(ctx: click.Context, options: dict[str, object]) -> str:
    """The command's own --diarizer, else the one given before the command, else builtin."""
    return str(options["diarizer"] or ctx.obj.get("diarizer") or "builtin")


def _no_diarizer_for_a_server(obj: dict) -> None:
    """--diarizer names the labels of a backend reelscript starts; a --server has its own."""
    if obj.get("server") and obj.get("diarizer"):
        raise click.UsageError(
            "--diarizer chooses the labels of the backend reelscript starts itself; the one at "
            f"{obj['server']} labels as it was started (reelscript serve --diarizer ...)"
        )


@main.command()
def languages() -> None:
    """List the language codes --language takes."""
    from tui.engine.languages import listing

    click.echo(listing())


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: next to each input).",
)
@click.option("-f", "--format", "formats", default="md", show_default=True, help=formats_help())
@click.option(
    "--speakers", type=click.IntRange(1, 20), help="Exact number of speakers (default: estimate)."
)
@click.option("--min-speakers", type=click.IntRange(1, 20))
@click.option("--max-speakers", type=click.IntRange(1, 20))
@click.option(
    "--language",
    default="auto",
    show_default=True,
    help="Language code (es, zh, ...; see reelscript languages), or auto: detected on the "
    "speech, piece by piece.",
)
@click.option(
    "--model",
    help="base (bundled, multilingual), tiny.en (bundled, English only), base+tiny.en (base "
    "detects and writes other languages, tiny.en English), a faster-whisper name (small, "
    "large-v3, ...) or a local model folder. Default: base+tiny.en.",
)
@click.option(
    "--translate",
    is_flag=True,
    help="Write the script in English, whatever language is spoken (offline, with the "
    "bundled multilingual base; an English-only --model cannot).",
)
@click.option(
    "--diarizer",
    type=click.Choice(DIARIZERS),
    help="Speaker labels: builtin (default; overlap-aware segmentation and CAM++ voices; "
    "campplus is another name for it), pyannote (where installed with its model), none (one "
    "speaker).",
)
@click.option("--timestamps/--no-timestamps", default=True, show_default=True)
@picture_options
@click.option(
    "--max-size-mb",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="Refuse inputs larger than this.",
)
@click.option(
    "--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"])
)
@click.option(
    "--voices/--no-voices",
    default=None,
    help="Name speakers by the remembered voices (`reelscript voices`). Default: on when any "
    "voice is remembered.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; errors only.")
@also_after("data_dir")
@click.pass_context
def transcribe(ctx: click.Context, files: tuple[Path, ...], **options: object) -> None:
    """Transcribe FILES into speaker-labelled scripts."""
    from tui.cli.transcribe import run

    options["diarizer"] = _diarizer(ctx, options)
    options["data_dir"] = ctx.obj.get("data_dir")
    sys.exit(run(list(files), **options))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--max-upload-mb", type=click.IntRange(1), default=500, show_default=True)
@click.option(
    "--starting-credits",
    default="100",
    show_default=True,
    help="Credits of a new token, or 'unlimited'.",
)
@click.option(
    "--tokens-per-hour",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="New tokens (new client ids) one address may get per hour; 0: no limit. A client "
    "that proves its client id (X-Client-Secret) replaces its token regardless.",
)
@click.option(
    "--auth-failures-per-minute",
    type=click.IntRange(0),
    default=30,
    show_default=True,
    help="Bad tokens one address may send per minute before it is answered 429; 0: no limit.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDR",
    help="A proxy (address or network, repeatable) whose X-Forwarded-For names the caller "
    "for the per-address limits. Default: none (the peer address counts).",
)
@click.option(
    "--max-json-kb",
    type=click.IntRange(1),
    default=1024,
    show_default=True,
    help="Largest JSON body (commands, URL uploads); larger answers 413 'request too large'.",
)
@click.option(
    "--max-script-mb",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Largest edited script a PUT may send; each is also held to 1 MB + 256 KB per "
    "minute of its media.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Job worker processes.",
)
@click.option(
    "--allow-private-urls/--no-allow-private-urls",
    default=None,
    help="Let URL uploads reach private/loopback addresses (default: only when bound to loopback).",
)
@click.option("--model", help="Default ASR model for jobs (default: the bundled base+tiny.en).")
@click.option(
    "--diarizer",
    type=click.Choice(DIARIZERS),
    help="Speaker labels of every job (default builtin; see `reelscript transcribe --help`).",
)
@click.option(
    "--keep-days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Remove the uploads and exports of sessions idle this many days, at start and "
    "hourly (scripts, tokens and credits stay). Default: keep everything.",
)
@click.option(
    "--exit-when-unused",
    is_flag=True,
    hidden=True,
    help="Stop once no app or watcher is attached and no job runs (the embedded backend).",
)
@team_options
@also_after("data_dir")
@click.option(
    "--admin-token",
    envvar="REELSCRIPT_ADMIN_TOKEN",
    help="Token of /api/admin/workers (worker hosts, devices, models, current jobs).",
)
@click.pass_context
def serve(ctx: click.Context, **options: Any) -> None:
    """Run the backend service alone (for a GPU box or a shared machine)."""
    from tui.backend.server import serve as run_server

    options["diarizer"] = _diarizer(ctx, options)
    limits = {
        "tokens_per_hour": options.pop("tokens_per_hour"),
        "auth_failures_per_minute": options.pop("auth_failures_per_minute"),
        "trusted_proxies": tuple(options.pop("trusted_proxies")),
        "max_json_bytes": int(options.pop("max_json_kb")) * 1024,
        "max_script_bytes": int(options.pop("max_script_mb")) * 1024 * 1024,
        **team_settings(options),
        "admin_token": options.pop("admin_token"),
    }
    sys.exit(run_server(data_dir=ctx.obj["data_dir"], limits=limits, **options))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write scripts here (default: next to each video).",
)
@click.option("-f", "--format", "formats", default="md", show_default=True, help=formats_help())
@picture_options
@click.option("-r", "--recursive", is_flag=True, help="Watch sub-folders too.")
@click.option(
    "--settle",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Seconds a file must stay unchanged before it is submitted.",
)
@click.option("--new-only", is_flag=True, help="Ignore files already in the folder.")
@click.option("--force", is_flag=True, help="Redo files the ledger says are done (or failed).")
@also_after("server", "token_file", "data_dir", "diarizer")
@click.option("-q", "--quiet", is_flag=True, help="Print failures only.")
@click.pass_context
def watch(ctx: click.Context, folder: Path, **options: Any) -> None:
    """Watch FOLDER and write a script for every new video."""
    from tui.watch import run_headless

    _no_diarizer_for_a_server(ctx.obj)
    sys.exit(run_headless(folder, **ctx.obj, **options))


@main.command()
@team_options
@click.option(
    "--model", help="ASR model of this worker's jobs (default: the bundled base+tiny.en)."
)
@click.option(
    "--device", default="cpu", show_default=True, help="Where the model runs (cpu, cuda)."
)
@click.option(
    "--diarizer",
    type=click.Choice(DIARIZERS),
    default="builtin",
    show_default=True,
    help="Speaker labels of this worker's jobs.",
)
@click.option("--max-upload-mb", type=click.IntRange(1), default=500, show_default=True)
def worker(**options: Any) -> None:
    """Run one team job worker: jobs from --queue, state in --database, files in --storage."""
    from tui.backend.team_worker import main as run_worker

    team = team_settings(options)
    if not team:
        raise click.UsageError("a worker needs --database, --queue and --storage (or their env)")
    sys.exit(
        run_worker(
            str(team["database_url"]),
            str(team["queue_url"]),
            Path(str(team["storage"])),
            model=options["model"],
            device=options["device"],
            diarizer=options["diarizer"],
            max_bytes=int(options["max_upload_mb"]) * 1024 * 1024,
            lease_s=float(os.environ.get("REELSCRIPT_LEASE_S", "30")),
        )
    )


def _add_voices() -> None:
    from tui.cli.voices import voices

    main.add_command(voices)


_add_voices()

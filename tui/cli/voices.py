"""``reelscript voices``: the remembered voices of the data dir, from the command line.

The same book the app's own backend and the folder watch use (the identity
of ``<data dir>/client.json``; see :mod:`tui.backend.voices_store`).  Bad
input (an unknown voice, a taken name, a file that is not an export or not
audio) is one line on stderr and exit code 2; the commands never print a
traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from tui.cli.options import also_after
from tui.datadir import resolve_data_dir
from tui.engine.writing import plural

#: A clip with other voices in it is a sample of its main voice only when that voice
#: speaks at least this many times as long as the next (else it is refused).
MAIN_VOICE_SHARE = 3.0


def local_book(data_dir: Path | str | None) -> Any:
    """The data dir's own voice book."""
    from tui.backend.store import Store
    from tui.backend.voices_store import VoiceBook

    folder = resolve_data_dir(data_dir)
    return VoiceBook(Store(folder), local_owner(folder))


def local_owner(data_dir: Path) -> str:
    """The identity of ``<data dir>/client.json`` (made there when it has none): the
    client id the app's own backend knows this machine's user by."""
    from tui.client.tokens import TokenStore

    tokens = TokenStore.load(Path(data_dir) / "client.json")
    if not tokens.client_id:
        tokens.new_identity()
        tokens.save()
    return tokens.client_id.strip().lower()


def book_for_transcribe(flag: bool | None, data_dir: Path | str | None) -> Any:
    """The book ``transcribe`` names speakers from: None when voices are off.

    ``flag`` None (neither --voices nor --no-voices): on when any voice is remembered.
    """
    if flag is False:
        return None
    book = local_book(data_dir)
    return book if flag or book.any() else None


def _fail(message: str) -> NoReturn:
    click.echo(f"reelscript voices: {message}", err=True)
    sys.exit(2)


def _book(ctx: click.Context) -> Any:
    return local_book((ctx.obj or {}).get("data_dir"))


def _run(action: Any) -> Any:
    from tui.backend.voices_store import VoiceError

    try:
        return action()
    except VoiceError as exc:
        _fail(str(exc))


@click.group()
@also_after("data_dir")
def voices() -> None:
    """Remembered voices: a voice named once is named in every later script."""


@voices.command("list")
@also_after("data_dir")
@click.pass_context
def list_voices(ctx: click.Context) -> None:
    """The remembered voices: name, files heard in, last heard."""
    rows = _book(ctx).listing()
    if not rows:
        click.echo("no voices remembered (rename a speaker in the app, or: voices add NAME clip)")
        return
    for row in rows:
        when = row["last_heard"]
        heard = time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "never"
        note = "  (needs a new sample: made with another encoder)" if row["needs_sample"] else ""
        click.echo(f"{row['name']}\t{plural(row['files'], 'file')}\tlast heard {heard}{note}")


@voices.command()
@also_after("data_dir")
@click.argument("old")
@click.argument("new")
@click.pass_context
def rename(ctx: click.Context, old: str, new: str) -> None:
    """Call the voice OLD by NEW from now on."""
    _run(lambda: _book(ctx).rename(old, new))
    click.echo(f"{old} is now {new}")


@voices.command()
@also_after("data_dir")
@click.argument("name")
@click.pass_context
def forget(ctx: click.Context, name: str) -> None:
    """Forget NAME: every embedding of that voice is deleted."""
    gone = _run(lambda: _book(ctx).forget(name))
    click.echo(f"forgot {gone}")


@voices.command()
@also_after("data_dir")
@click.argument("source")
@click.argument("target")
@click.pass_context
def merge(ctx: click.Context, source: str, target: str) -> None:
    """SOURCE and TARGET are one person: keep TARGET with both voices' samples."""
    _run(lambda: _book(ctx).merge(source, target))
    click.echo(f"{source} merged into {target}")


@voices.command("export")
@also_after("data_dir")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_voices(ctx: click.Context, file: Path) -> None:
    """Write every remembered voice (embeddings, no audio) to FILE, for another machine."""
    from tui.engine.errors import EngineError
    from tui.engine.formats.common import atomic_write_text

    data = _book(ctx).export()
    try:  # whole or not at all: an export cut short is never left as FILE
        atomic_write_text(file, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    except EngineError as exc:
        _fail(str(exc))
    click.echo(f"wrote {len(data['voices'])} voices to {file}")


@voices.command("import")
@also_after("data_dir")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_voices(ctx: click.Context, file: Path) -> None:
    """Add the voices of FILE (made by `voices export`)."""
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"cannot read {file} as a voices export: {getattr(exc, 'strerror', None) or exc}")
    names = _run(lambda: _book(ctx).import_(data))
    click.echo(f"imported {len(names)} voices: {', '.join(names)}")


@voices.command()
@also_after("data_dir")
@click.argument("name")
@click.argument("clip", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def add(ctx: click.Context, name: str, clip: Path) -> None:
    """Remember NAME from CLIP, a recording of that person alone (a few seconds or more)."""
    from tui.backend.voices_store import voice_name
    from tui.engine import media
    from tui.engine import voices as engine
    from tui.engine.errors import EngineError

    name = _run(lambda: voice_name(name))  # before minutes of listening
    try:
        audio = media.decode_audio(clip)
    except EngineError as exc:
        _fail(str(exc) if exc.path else f"{clip}: {exc}")  # the message names the file once
    heard = [voice for voice in engine.sample_voices(audio) if voice[0] >= engine.MIN_SPEECH_S]
    if len(heard) > 1 and heard[0][0] < MAIN_VOICE_SHARE * heard[1][0]:
        each = ", ".join(f"{seconds:.0f} s" for seconds, _ in heard)
        _fail(
            f"{clip}: {len(heard)} voices speak in it ({each}); `voices add` needs {name} "
            f"alone: use a clip of {name} only, or script the file and rename {name}'s "
            "speaker in the app (renaming remembers the voice)"
        )
    voice = engine.print_of(audio, heard[0][1]) if heard else None
    if voice is None:
        _fail(f"{clip}: too little speech for a voice (at least {engine.MIN_SPEECH_S:g} s)")
    import hashlib

    source = hashlib.sha256(audio.tobytes()).hexdigest()[:16]
    _run(lambda: _book(ctx).remember(name, voice, source))
    left = heard[1:]
    note = (
        f", the voice that speaks most; {plural(len(left), 'other voice')} "
        f"({', '.join(f'{seconds:.0f} s' for seconds, _ in left)}) left out"
        if left
        else ""
    )
    click.echo(f"remembered {name} ({voice.seconds:.0f} s of speech{note})")

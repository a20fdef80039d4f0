"""``reelscript watch DIR``: the folder watcher on a terminal, until Ctrl+C (or SIGTERM).

Connects to ``--server`` or starts the embedded backend on loopback, runs a
:class:`~tui.watch.watcher.FolderWatcher` with a
:class:`~tui.watch.report.TerminalReport`, and stops cleanly on SIGINT or
SIGTERM: the video in progress is abandoned, its temp files removed, and it
is redone on the next start.

Exit codes: 0 stopped by SIGTERM (a service stop), 130 stopped by Ctrl+C,
2 bad options, 3 the backend could not be reached or started.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tui.watch.events import WatchStats
from tui.watch.outputs import output_suffix, parse_formats
from tui.watch.report import TerminalReport
from tui.watch.watcher import FolderWatcher

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130


class BackendUnavailable(Exception):
    """The backend could not be started or reached; ``str()`` says why."""


@contextlib.asynccontextmanager
async def connect(
    server: str | None, token_file: Path | None, data_dir: Path | None
) -> AsyncIterator[tuple[Any, str]]:
    """Yield ``(client, description)`` for ``server``, or for an embedded backend."""
    raise BackendUnavailable("waiting for tui.client")
    yield  # pragma: no cover


def run_headless(
    folder: Path,
    *,
    server: str | None = None,
    token_file: Path | None = None,
    data_dir: Path | None = None,
    out: Path | None = None,
    formats: str = "md",
    recursive: bool = False,
    settle: float = 2.0,
    new_only: bool = False,
    force: bool = False,
    quiet: bool = False,
) -> int:
    """Watch ``folder`` until interrupted; returns the process exit code."""
    try:
        chosen = parse_formats(formats)
    except ValueError as error:
        TerminalReport(folder, WatchStats(), quiet=quiet).say(
            f"reelscript watch: {error}", error=True
        )
        return EXIT_USAGE
    return asyncio.run(
        _watch(
            Path(folder).expanduser().resolve(),
            server=server,
            token_file=token_file,
            data_dir=data_dir,
            out=out,
            formats=chosen,
            recursive=recursive,
            settle=settle,
            new_only=new_only,
            force=force,
            quiet=quiet,
        )
    )


async def _watch(
    folder: Path,
    *,
    server: str | None,
    token_file: Path | None,
    data_dir: Path | None,
    out: Path | None,
    formats: tuple[str, ...],
    recursive: bool,
    settle: float,
    new_only: bool,
    force: bool,
    quiet: bool,
) -> int:
    loop = asyncio.get_running_loop()
    stopped_by: list[int] = []
    report = TerminalReport(folder, WatchStats(), quiet=quiet)
    try:
        async with connect(server, token_file, data_dir) as (client, backend):
            watcher = FolderWatcher(
                folder,
                client,
                out=out,
                formats=formats,
                recursive=recursive,
                settle=settle,
                new_only=new_only,
                force=force,
                data_dir=data_dir,
                on_event=report.event,
            )
            report.stats = watcher.stats

            def on_signal(signum: int) -> None:
                if not stopped_by:
                    report.say("stopping…")
                stopped_by.append(signum)
                watcher.stop()

            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, on_signal, signum)
            where = f"into {out}" if out else "next to each video"
            names = ", ".join(f"<name>{output_suffix(f)}" for f in formats)
            report.say(
                f"watching {folder}{' and sub-folders' if recursive else ''}:"
                f" {names} {where} · backend {backend} · Ctrl+C stops"
            )
            try:
                with report:
                    await watcher.run()
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
                watcher.ledger.close()
            report.say(f"stopped: {watcher.stats.summary()}")
    except BackendUnavailable as error:
        report.say(f"reelscript watch: backend unavailable: {error}", error=True)
        return EXIT_BACKEND
    if stopped_by and stopped_by[0] == signal.SIGINT:
        return EXIT_INTERRUPTED
    return EXIT_OK

"""``reelscript watch DIR``: the folder watcher on a terminal, until Ctrl+C (or SIGTERM).

Connects to ``--server`` or starts the embedded backend on loopback, runs a
:class:`~tui.watch.watcher.FolderWatcher` with a
:class:`~tui.watch.report.TerminalReport`, and stops cleanly on SIGINT or
SIGTERM: the video in progress is abandoned, its temp files removed, and it
is redone on the next start.

Exit codes: 0 stopped by SIGTERM (a service stop) or SIGHUP, 130 by Ctrl+C,
1 the folder went away (or another OS error), 2 bad options, 3 the backend
could not be reached or started.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tui.engine.formats.names import FRAMES, output_suffix, parse_formats
from tui.watch.events import WatchStats
from tui.watch.report import TerminalReport
from tui.watch.watcher import FolderWatcher

#: Ctrl+C, a service stop, and the SSH connection closing (without tmux) all stop cleanly.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130


class BackendUnavailable(Exception):
    """The backend could not be started or reached; ``str()`` says why."""


@contextlib.asynccontextmanager
async def connect(
    server: str | None,
    token_file: Path | None,
    data_dir: Path | None,
    diarizer: str | None = None,
) -> AsyncIterator[tuple[Any, str]]:
    """Yield ``(client, description)`` for ``server``, or for the embedded backend.

    The embedded backend is started (or the data dir's running one reused) and
    stopped again on exit, also when the start is interrupted.
    """
    from tui.client.http import ApiError, Client
    from tui.client.local_server import LocalServerError, start_or_reuse

    local = None
    if server is None:
        starting = asyncio.get_running_loop().run_in_executor(
            None, functools.partial(start_or_reuse, data_dir, diarizer=diarizer, who="watch")
        )
        try:
            local = await asyncio.shield(starting)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                (await starting).stop()  # Ctrl+C while starting: don't leave it running
            raise
        except LocalServerError as error:
            raise BackendUnavailable(str(error)) from None
        url = local.url
        token_file = token_file or local.token_file
        where = f"{url} (embedded)" if local.owned else f"{url} (already running)"
    else:
        url, where = server, server
        if token_file is None and data_dir is not None:
            token_file = Path(data_dir) / "client.json"
    try:
        async with Client(url, token_file=token_file, platform="watch") as client:
            try:
                await client.health()
                await client.ensure_token()
            except ApiError as error:
                raise BackendUnavailable(str(error)) from None
            yield client, where
    finally:
        if local is not None:
            await asyncio.to_thread(local.stop)


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
    diarizer: str | None = None,
    frame: str = "16:9",
    fit: str = "blur",
) -> int:
    """Watch ``folder`` until interrupted; returns the process exit code.

    ``frame`` and ``fit`` are the captioned export's (``--frame``, ``--fit``)."""
    try:
        chosen = parse_formats(formats)
    except ValueError as error:
        TerminalReport(folder, WatchStats(), quiet=quiet).say(
            f"reelscript watch: {error}", error=True
        )
        return EXIT_USAGE
    options = dict(
        out=out, formats=chosen, recursive=recursive, settle=settle, new_only=new_only, force=force,
        picture={"resolution": FRAMES[frame], "fit": fit},
    )  # fmt: skip
    folder = Path(folder).expanduser().resolve()
    return asyncio.run(_watch(folder, server, token_file, data_dir, quiet, options, diarizer))


async def _watch(
    folder: Path,
    server: str | None,
    token_file: Path | None,
    data_dir: Path | None,
    quiet: bool,
    options: dict[str, Any],
    diarizer: str | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    stopped_by: list[int] = []
    watchers: list[FolderWatcher] = []
    report = TerminalReport(folder, WatchStats(), quiet=quiet)

    def on_signal(signum: int) -> None:
        stopped_by.append(signum)
        if watchers:
            watchers[0].stop()  # abandons the current video cleanly
        elif main is not None:
            main.cancel()  # still starting the backend
        if len(stopped_by) == 1:
            report.say("stopping...")

    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with connect(server, token_file, data_dir, diarizer) as (client, backend):
            watcher = FolderWatcher(
                folder, client, data_dir=data_dir, on_event=report.event, **options
            )
            watchers.append(watcher)
            report.stats = watcher.stats
            where = f"into {watcher.out}" if watcher.out else "next to each video"
            names = ", ".join(f"<name>{output_suffix(f)}" for f in watcher.formats)
            report.say(
                f"watching {folder}{' and sub-folders' if watcher.recursive else ''}:"
                f" {names} {where}; backend {backend}; Ctrl+C stops"
            )
            try:
                with report:
                    await watcher.run()
            finally:
                watcher.ledger.close()
            report.say(f"stopped: {watcher.stats.summary()}")
    except BackendUnavailable as error:
        report.say(f"reelscript watch: backend unavailable: {error}", error=True)
        return EXIT_BACKEND
    except OSError as error:  # the folder went away, the data dir is not writable, ...
        report.say(f"reelscript watch: stopped: {error}", error=True)
        return EXIT_ERROR
    except asyncio.CancelledError:
        if not stopped_by:
            raise
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    if stopped_by and stopped_by[0] == signal.SIGINT:
        return EXIT_INTERRUPTED
    return EXIT_OK

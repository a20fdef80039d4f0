"""The app's own backend: start ``reelscript serve`` as a child process on loopback, or reuse one.

:func:`start_or_reuse` looks for ``<data>/server.json`` (written by a running
backend, which holds ``server.lock`` while it runs); if that backend answers
``/api/health`` it is reused.  Otherwise it starts
``python -m tui.cli serve --host 127.0.0.1 --port 0 --starting-credits unlimited``
(port 0: the OS picks a free port, which the child writes to ``server.json``),
waits for health, and returns a :class:`LocalServer`.  Either way the caller
is *attached* to that backend (:mod:`tui.attachments`); :meth:`LocalServer.stop`
detaches, and a backend started here (``--exit-when-unused``) stops itself once
no attached process is left and no job runs -- also when the last app was
killed or its terminal closed, and only after a running job has finished.

    with start_or_reuse(data_dir) as server:
        async with Client(server.url, token_file=server.token_file) as api: ...
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tui import attachments
from tui.datadir import resolve_data_dir

INFO_FILE = "server.json"
LOG_FILE = "server.log"
START_TIMEOUT_S = 60.0


class LocalServerError(RuntimeError):
    """The embedded backend could not be started (the message says why)."""


@dataclass
class LocalServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None  # None: reused (started by another)
    #: This user's record in the backend's attachments (see :mod:`tui.attachments`).
    attachment: Path | None = None

    @property
    def token_file(self) -> Path:
        return self.data_dir / "client.json"

    @property
    def owned(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 10.0) -> bool:
        """Detach; when nobody else is attached, wait (up to ``timeout``) for the backend
        to stop itself.  Returns whether it stopped; a running job keeps it going until
        the job ends (then it stops by itself)."""
        if self.attachment is None:  # detached already (stop() then atexit)
            return self._gone()
        attachments.detach(self.attachment)
        self.attachment = None
        if attachments.attached(self.data_dir):
            return False  # another app or watcher still uses it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._gone():
                return True
            time.sleep(0.05)
        return False

    def _gone(self) -> bool:
        if self.process is not None:
            return self.process.poll() is not None
        return not _alive(read_info(self.data_dir).get("pid")) or not healthy(self.url, 0.5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(f"{url}/api/health", timeout=timeout)
        return response.status_code == 200 and response.json().get("code") == 0
    except (httpx.HTTPError, ValueError):
        return False


def read_info(data_dir: Path) -> dict[str, Any]:
    try:
        value: dict[str, Any] = json.loads((data_dir / INFO_FILE).read_text())
        return value
    except (OSError, ValueError):
        return {}


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def find_running(data_dir: Path) -> str | None:
    """The URL of a healthy backend already serving ``data_dir``, if any."""
    info = read_info(data_dir)
    url = info.get("url")
    if url and _alive(info.get("pid")) and healthy(str(url)):
        return str(url)
    return None


def start_or_reuse(
    data_dir: Path | None = None,
    *,
    model: str | None = None,
    diarizer: str | None = None,
    extra_args: list[str] | None = None,
    timeout: float = START_TIMEOUT_S,
    who: str = "app",
) -> LocalServer:
    """Reuse the data dir's running backend, or start one (see module docstring).

    ``diarizer`` (None: no preference) is the speaker labelling of a backend
    started here; a running one that labels otherwise is not reused but named
    in a :class:`LocalServerError`, since one data dir has one backend.
    """
    data = resolve_data_dir(data_dir)
    attachment = attachments.attach(data, who)  # before the start: it must not stop at once
    try:
        return _start_or_reuse(data, attachment, model, diarizer, extra_args, timeout)
    except BaseException:
        attachments.detach(attachment)
        raise


def _start_or_reuse(
    data: Path,
    attachment: Path,
    model: str | None,
    diarizer: str | None,
    extra_args: list[str] | None,
    timeout: float,
) -> LocalServer:
    url = find_running(data)
    if url:
        info = read_info(data)
        running = str(info.get("diarizer") or "builtin")
        if diarizer is not None and diarizer != running:
            raise LocalServerError(
                f"the backend already serving {data} labels speakers with {running}, not "
                f"{diarizer}: quit what uses it (or stop pid {info.get('pid')}) and start again"
            )
        return LocalServer(url=url, data_dir=data, attachment=attachment)
    args = [
        sys.executable,
        "-m",
        "tui.cli",
        "--data-dir",
        str(data),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--starting-credits",
        "unlimited",
        # Unlimited credits leave nothing to mint: the user's own backend never
        # refuses its user a token.
        "--tokens-per-hour",
        "0",
        "--exit-when-unused",
    ]
    if model:
        args += ["--model", model]
    if diarizer:
        args += ["--diarizer", diarizer]
    args += extra_args or []
    log = open(data / LOG_FILE, "ab")  # noqa: SIM115 - the child keeps writing to it
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            # Lost a race with another app starting the same data dir's backend: use theirs.
            url = find_running(data)
            if url:
                return LocalServer(url=url, data_dir=data, attachment=attachment)
            raise LocalServerError(
                f"the local backend exited with code {proc.returncode}; see {data / LOG_FILE}"
            )
        info = read_info(data)
        if info.get("pid") == proc.pid and info.get("url") and healthy(str(info["url"])):
            server = LocalServer(
                url=str(info["url"]), data_dir=data, process=proc, attachment=attachment
            )
            atexit.register(server.stop)  # stopped on exit even if the caller forgets to
            return server
        time.sleep(0.1)
    proc.kill()
    proc.wait(5)
    raise LocalServerError(
        f"the local backend did not answer within {timeout:.0f} s; see {data / LOG_FILE}"
    )

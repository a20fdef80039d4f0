"""A real reelscript backend for tests: ``reelscript serve`` in a subprocess on loopback.

``live_server`` (session-scoped, shared by every area's tests) serves a data
dir of its own with generous credits; tests that need other settings (small
upload limit, few credits, a server they kill) call :func:`start_server`.

    def test_x(live_server):
        async with Client(live_server.url, token_file=tmp_path / "t.json") as api: ...
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests import processes

START_TIMEOUT_S = 90.0
#: Set by ``pytest --team`` (tests/conftest.py): servers run in team mode.
TEAM_ENV = "REELSCRIPT_TEST_TEAM"


@dataclass
class LiveServer:
    """A running backend: its ``url``, ``data_dir`` and process."""

    data_dir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    @property
    def log(self) -> str:
        try:
            return (self.data_dir / "test-server.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> LiveServer:
        (self.data_dir / "server.json").unlink(missing_ok=True)
        env = {**os.environ, **self.env}
        env.pop("REELSCRIPT_HOME", None)
        with open(self.data_dir / "test-server.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tui.cli",
                    "--data-dir",
                    str(self.data_dir),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    *self.args,
                ],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log}")
            try:
                info = json.loads((self.data_dir / "server.json").read_text())
                if info.get("pid") == self.process.pid:
                    url = str(info["url"])
                    if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                        self.url = url
                        return self
            except (OSError, ValueError, httpx.HTTPError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crash or an OOM kill."""
        processes.kill(self.process)

    def stop(self) -> None:
        processes.stop(self.process, signal.SIGINT)


#: The per-address limits are off unless a test names them: the suite's many tokens and
#: deliberate bad tokens all come from 127.0.0.1 (tests of the limits set their own).
NO_ADDRESS_LIMITS = {"--tokens-per-hour": "0", "--auth-failures-per-minute": "0"}


def start_server(data_dir: Path, *args: str, **env: str) -> LiveServer:
    """Start a backend on ``data_dir`` with extra ``serve`` options and environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    extra = [item for option, value in NO_ADDRESS_LIMITS.items() if option not in args
             for item in (option, value)]  # fmt: skip
    if os.environ.get(TEAM_ENV):  # pytest --team: the same tests against a team backend
        from tests.team_services import start_team_server

        return start_team_server(data_dir, [*args, *extra], dict(env))
    return LiveServer(data_dir=data_dir, args=[*args, *extra], env=dict(env)).start()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """One backend for the whole test session (10,000 credits per token)."""
    server = start_server(tmp_path_factory.mktemp("live-server"), "--starting-credits", "10000")
    yield server
    server.stop()

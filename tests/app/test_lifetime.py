"""The app owns its backend's lifetime: a closed terminal leaves no process behind.

Run for real in tmux: ``tmux kill-session`` sends SIGHUP to the app, as a
dropped SSH session does.  A backend shared with ``reelscript watch`` stays
while the watcher uses it and stops when the watcher ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.backend.media import make_video
from tui.attachments import attached
from tui.client.local_server import find_running

REPO = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan nobody has reaped yet counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def tmux() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """``tmux`` on a server of its own, killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt-get install -y tmux): the SIGHUP test needs it")
    socket = f"reelscript-test-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30
        )

    yield run
    run("kill-server")


def _start_app(tmux, home: Path, folder: Path) -> None:
    command = (
        f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} -m tui.cli --data-dir {home} {folder}"
    )
    started = tmux("new-session", "-d", "-s", "app", "-x", "100", "-y", "30", command)
    assert started.returncode == 0, started.stderr


def _backend(home: Path) -> int:
    _wait(lambda: (home / "server.json").exists(), 120, "the embedded backend")
    return int(json.loads((home / "server.json").read_text())["pid"])


def _screen(tmux) -> str:
    return tmux("capture-pane", "-p", "-t", "app").stdout


def test_killing_the_tmux_session_leaves_no_process(tmux, tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "panel.mp4", seconds=1.0)
    _start_app(tmux, home, folder)
    server = _backend(home)
    _wait(lambda: find_running(home) and "Files" in _screen(tmux), 120, "the app to connect")
    [record] = attached(home)
    app = int(record.name.split("-")[0])
    workers = _children(server)
    assert workers, "the backend runs its job workers as child processes"

    assert tmux("kill-session", "-t", "app").returncode == 0  # SIGHUP, as a dropped SSH session
    everything = [app, server, *workers]
    _wait(lambda: not any(_running(pid) for pid in everything), 30, "every process to end")
    assert not (home / "server.json").exists()
    assert not attached(home)


def test_a_backend_shared_with_watch_stops_when_the_last_user_ends(tmux, tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "videos"
    folder.mkdir()
    _start_app(tmux, home, folder)
    server = _backend(home)
    _wait(lambda: find_running(home) and "Files" in _screen(tmux), 120, "the app to connect")
    watch = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--data-dir", str(home), "watch", str(folder), "-q"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: len(attached(home)) == 2, 60, "the watcher to attach")
        tmux("kill-session", "-t", "app")
        _wait(lambda: len(attached(home)) == 1, 30, "the app to detach")
        time.sleep(1.0)  # the backend looks every 0.25 s: it must still be there
        assert _running(server), "stopped while the watcher still used it"
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(30) == 0
        _wait(lambda: not _running(server), 30, "the backend to stop after the watcher")
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(10)


@pytest.mark.slow
def test_ctrl_c_on_serve_during_a_job_leaves_no_warning(tmux, tmp_path: Path, data_dir) -> None:
    """Ctrl+C stops a backend whose worker is mid-job without a "leaked semaphore" warning."""
    import asyncio

    from tui.client.http import Client

    home = tmp_path / "home"
    command = (
        f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} -m tui.cli --data-dir {home} "
        "serve --port 0 2>&1; echo EXITED $?; sleep 60"
    )
    assert tmux("new-session", "-d", "-s", "app", "-x", "200", "-y", "40", command).returncode == 0
    _wait(lambda: find_running(home), 120, "the backend")
    url = json.loads((home / "server.json").read_text())["url"]

    async def start_a_job() -> None:
        async with Client(url, token_file=tmp_path / "token.json") as api:
            session = await api.create_session()
            await api.upload_files(session.session_id, [data_dir / "demo.mp4"])
            async for event in api.run_sse(session.session_id, "transcribe"):
                if event.kind == "progress" and event.data.get("stage") == "transcribing":
                    return

    asyncio.run(start_a_job())
    tmux("send-keys", "-t", "app", "C-c")
    _wait(lambda: "EXITED" in _screen(tmux), 30, "the backend to stop")
    time.sleep(1.0)  # the resource tracker speaks last
    screen = _screen(tmux)
    assert "EXITED 0" in screen and "leaked" not in screen, screen

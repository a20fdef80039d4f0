"""The app's embedded backend: started on loopback with unlimited credits, reused, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.client.http import Client
from tui.client.local_server import LocalServerError, find_running, read_info, start_or_reuse


async def test_start_reuse_and_stop(tmp_path: Path) -> None:
    data = tmp_path / "home"
    server = start_or_reuse(data)
    try:
        assert server.owned and server.url.startswith("http://127.0.0.1:")
        again = start_or_reuse(data)
        assert again.url == server.url and not again.owned
        again.stop()  # not ours: left running
        assert find_running(data) == server.url
        async with Client(server.url, token_file=server.token_file, platform="tui") as api:
            balance = await api.credits()
            assert (
                balance["unlimited"] and balance["available"] is None and balance["display"] == "∞"
            )
        # A second server on the same data dir refuses, saying which one runs.
        second = subprocess.run(
            [sys.executable, "-m", "tui.cli", "--data-dir", str(data), "serve", "--port", "0"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        assert "another reelscript backend already serves" in second.stderr
        assert str(read_info(data)["pid"]) in second.stderr
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode is not None
    assert find_running(data) is None and not (data / "server.json").exists()


def test_a_running_backend_that_labels_otherwise_is_named_not_reused(tmp_path: Path) -> None:
    """One data dir, one backend: asking for other speaker labels than the running one's says
    which runs and how to change it, instead of quietly labelling with the wrong method."""
    data = tmp_path / "home"
    server = start_or_reuse(data, diarizer="none")
    try:
        assert read_info(data)["diarizer"] == "none"
        with pytest.raises(LocalServerError) as refused:
            start_or_reuse(data, diarizer="campplus")
        assert str(refused.value) == (
            f"the backend already serving {data} labels speakers with none, not campplus: "
            f"quit what uses it (or stop pid {server.process.pid}) and start again"
        )
        assert start_or_reuse(data).url == server.url  # no preference: reused
        assert start_or_reuse(data, diarizer="none").url == server.url
    finally:
        server.stop()


def test_serve_takes_the_data_dir_after_its_name(tmp_path: Path) -> None:
    """`reelscript serve --data-dir DIR` serves DIR (as `reelscript --data-dir DIR serve` does),
    over the environment's REELSCRIPT_HOME."""
    data, elsewhere = tmp_path / "given", tmp_path / "from-env"
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--data-dir", str(data), "--port", "0"],
        env={**os.environ, "REELSCRIPT_HOME": str(elsewhere)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while find_running(data) is None:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)
        assert read_info(data)["pid"] == server.pid
        assert not (elsewhere / "server.json").exists()
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl+C: the server stops and says so
        server.communicate(timeout=60)
    assert server.returncode == 0 and not (data / "server.json").exists()


def test_bad_options_get_one_line_errors(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--data-dir", str(tmp_path), "serve", "--starting-credits", "lots"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "error: --starting-credits must be a number or 'unlimited', not 'lots'"
    ]

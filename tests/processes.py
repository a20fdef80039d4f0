"""Ending a test's child process: politely with a signal, by force if it does not go."""

from __future__ import annotations

import signal
import subprocess


def kill(process: subprocess.Popen | None) -> None:
    """SIGKILL: no clean-up at all, as a crash or an OOM kill."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def stop(process: subprocess.Popen | None, sig: int = signal.SIGINT) -> None:
    """Send ``sig`` and wait 15 s for the process to end; kill it if it does not."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            kill(process)

"""Ctrl-C's handler, swapped for the length of a block.

Python runs signal handlers in the main thread only, and raises
KeyboardInterrupt there at whatever it is running, whichever thread the
kernel gave SIGINT to: blocking the signal in one thread does not hold it
back.  The CLI (:mod:`tui.cli.transcribe`) and the speech detector's import
(:mod:`tui.engine.vad`) put their own handler in its place instead.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

Handler = Callable[[int, Any], Any]


@contextlib.contextmanager
def sigint_handled_by(handler: Handler) -> Iterator[Any]:
    """Run the block with ``handler`` for SIGINT; yields the handler it replaced.

    Off the main thread nothing is swapped (no handler could run there) and
    None is yielded.  A handler not set from Python counts as the system's default.
    """
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    previous = signal.signal(signal.SIGINT, handler)
    if previous is None:
        previous = signal.SIG_DFL
    try:
        yield previous
    finally:
        signal.signal(signal.SIGINT, previous)

"""Ctrl-C stops the work even where a library would lose it.

Python raises KeyboardInterrupt in the main thread at whatever runs there; a
library that catches everything (silero-vad's bare ``except:``), or that ends
a loop on its own error raised just then (PyAV's resampler), can lose it, and
the CLI would script the file to the end after the user stopped it.  The
real signal is raised in these tests, in this process's main thread.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tui.cli.transcribe import _interrupt_cancels
from tui.engine.vad import _interrupts_held


def test_ctrl_c_cancels_even_where_the_interrupt_is_lost() -> None:
    before = signal.getsignal(signal.SIGINT)
    cancel = threading.Event()
    with _interrupt_cancels(cancel):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # what a library that loses it does
    assert cancel.is_set()  # the pipeline checks it as it goes
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_inside_a_held_block_is_raised_after_it() -> None:
    """Held back in the main thread when the kernel gives the signal to another thread.

    The labeller's and the libraries' threads run beside the main one: blocking
    SIGINT in the main thread alone would let the signal in through them.
    """
    # Python's own handler, as in the CLI: an earlier test in this process may have
    # left another (an event loop's runner), which the block would hand the signal to.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    ready, stop = threading.Event(), threading.Event()

    def beside() -> None:  # a thread that takes SIGINT, whatever the main thread blocks
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        ready.set()
        stop.wait()

    other = threading.Thread(target=beside)
    other.start()
    ready.wait()
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt), _interrupts_held():
            try:
                signal.pthread_kill(other.ident or 0, signal.SIGINT)
                for _ in range(100):  # time for the handler to run in here
                    time.sleep(0.002)
            except BaseException:  # noqa: BLE001 - the bare except: of the library held
                raise AssertionError("the interrupt reached the block") from None
            finished = True
    finally:
        stop.set()
        other.join()
        after = signal.signal(signal.SIGINT, before)
    assert finished
    assert after is signal.default_int_handler  # the block put back what was there


def test_ctrl_c_held_in_a_block_that_fails_is_still_handed_on() -> None:
    """A held interrupt is not lost when the block itself fails (a broken import)."""
    seen: list[int] = []
    before = signal.signal(signal.SIGINT, lambda signum, _frame: seen.append(signum))
    try:
        with pytest.raises(ImportError), _interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):  # time for the noting handler to run in here
                time.sleep(0.002)
            assert seen == []  # held
            raise ImportError("a broken import")
    finally:
        signal.signal(signal.SIGINT, before)
    assert seen == [signal.SIGINT]


def test_no_held_block_outside_the_main_thread_waits_for_a_signal() -> None:
    """Signal handlers are the main thread's: elsewhere both leave the handler alone."""
    seen: list[object] = []

    def other() -> None:
        with _interrupts_held(), _interrupt_cancels(threading.Event()):
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [before]

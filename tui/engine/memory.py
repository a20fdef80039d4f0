"""Handing freed memory back to the system between the pipeline's stages.

glibc's allocator keeps what a thread frees in that thread's arena for its
next allocations, and the pipeline's stages run on different threads
(recognition beside the speaker labeller): memory the labeller's CAM++ pass
or the speech detector has finished with stays counted to the process while
recognition allocates anew elsewhere.  ``malloc_trim`` gives the free pages
of every arena back.  On an hour of video the whole pipeline's peak fell
from 1,484 / 1,489 MB to 1,363 / 1,383 MB in two alternating rounds (docs/transcribe.md, "Measured").

Only where the C library is glibc (Linux); elsewhere nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_freed() -> None:
    """Give the C heap's free pages back to the system (after a stage that freed much)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

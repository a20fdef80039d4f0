"""One video through the backend: upload, script it via ``/run_sse``, export and download.

Only :mod:`tui.client` talks HTTP; this module strings its calls together
for the watcher and turns every way a video can fail into one
:class:`VideoFailed` with a one-line reason, marked *permanent* when the
video itself is at fault (so the ledger remembers it) or not (server down,
out of credits: worth trying again later).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

#: What the watcher asks of ``/run_sse`` for each video (API.md's first example).
EXTRACT_PROMPT = "extract a full written script from this video with speaker labels"

#: API codes that mean "this file cannot be scripted" rather than "try again later".
FILE_FAULT_CODES = frozenset({4001, 4002, 422})

Progress = Callable[[str, float, "float | None"], None]


class VideoFailed(Exception):
    """A video could not be scripted; ``str()`` is the reason for the user."""

    def __init__(self, reason: str, code: int | None = None, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.permanent = permanent


async def script_video(
    client: Any,
    path: Path,
    destinations: dict[str, Path],
    *,
    language: str,
    prompt: str,
    progress: Progress,
) -> None:
    """Script ``path`` and download each format's export to ``destinations[fmt]``."""
    raise NotImplementedError("waiting for tui.client")

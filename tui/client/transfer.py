"""The API client's file transfers: uploads that report their progress, downloads that are
never half-written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tui.client.errors import error_from
from tui.datadir import OUTPUT_MODE


# -- upload progress ------------------------------------------------------------------------------
@dataclass
class UploadProgress:
    """Bytes sent of an upload's ``total``; ``callback(sent, total)`` hears of each chunk."""

    total: int
    callback: Callable[[int, int], None] | None
    count: int = 0


class CountingFile:
    """A file httpx streams from (it reads chunks), counting what went out."""

    def __init__(self, path: Path, sent: UploadProgress) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
        self._sent = sent

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._sent.count += len(chunk)
        if self._sent.callback is not None and chunk:
            self._sent.callback(self._sent.count, self._sent.total)
        return chunk

    def fileno(self) -> int:  # httpx sizes the multipart body from it
        return self._fh.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()


@dataclass
class MultipartFiles:
    """The ``files`` of a multipart upload, opened afresh for each try (a retry starts over)."""

    paths: list[Path]
    progress: Callable[[int, int], None] | None = None
    handles: list[CountingFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sent = UploadProgress(sum(p.stat().st_size for p in self.paths), self.progress)

    def build(self) -> dict[str, Any]:
        """The request's ``files`` argument, counting from zero again."""
        self.close()
        self.sent.count = 0
        self.handles[:] = [CountingFile(p, self.sent) for p in self.paths]
        return {
            "files": [
                ("files", (p.name, fh, "application/octet-stream"))
                for p, fh in zip(self.paths, self.handles, strict=True)
            ]
        }

    def close(self) -> None:
        for fh in self.handles:
            fh.close()


# -- downloads ---------------------------------------------------------------------------
async def download_to(
    http: httpx.AsyncClient, url: str, dest: Path, headers: dict[str, str]
) -> Path:
    """Fetch ``url`` to ``dest`` through a temp file and a rename: never half-written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            async with http.stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    try:
                        raise error_from(response, response.json())
                    except ValueError:
                        raise error_from(response, None) from None
                async for chunk in response.aiter_bytes():
                    fh.write(chunk)
        os.chmod(tmp, OUTPUT_MODE)  # as any other output: the user's umask, not 0600
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest

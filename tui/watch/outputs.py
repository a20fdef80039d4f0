"""Where a video's outputs go, and writing them so that nothing half-written or edited is lost.

Each output is first written to a hidden temp file in its target folder, then
renamed into place (atomic on one filesystem), all outputs of one video
together at the end, so an interrupted run leaves either the old files or the
new ones.  An output is only ever replaced when it still holds exactly what
we wrote there for the same video; one the user edited since (or a file that
was never ours) is left alone and the new one is written as ``<stem>.2.<ext>``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from tui.datadir import OUTPUT_MODE
from tui.engine.formats.names import output_name, output_suffix
from tui.watch.ledger import Ledger, sha256_file


def output_target(video: Path, fmt: str, folder: Path, out: Path | None) -> Path:
    """The output's name (one rule: :func:`~tui.engine.formats.names.output_name`) next
    to the video, or under ``out`` mirroring sub-folders of ``folder``."""
    name = output_name(video, fmt)
    if out is None:
        return video.parent / name
    try:
        relative = video.parent.relative_to(folder)
    except ValueError:
        relative = Path()
    return out / relative / name


#: Our temp files (``.<name>.<8 hex>.part``) and the client's inside them (``..<that>.<random>``).
_TEMP_NAME = re.compile(r"^\.{1,2}.+\.[0-9a-f]{8}\.part(\.[A-Za-z0-9_]+)?$")


def sweep_stale_temps(folders: list[Path], recursive: bool, older_than: float = 600.0) -> int:
    """Remove temp files a killed watcher left behind (only ours, only old ones); returns
    how many.  Young ones may belong to another watcher that is writing right now."""
    removed = 0
    cutoff = time.time() - older_than
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob(".*") if recursive else folder.glob(".*"):
            with contextlib.suppress(OSError):
                if _TEMP_NAME.match(path.name) and path.is_file():
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
    return removed


def numbered(target: Path, fmt: str, n: int) -> Path:
    """``talk.md`` -> ``talk.<n>.md`` (``talk.script.mp4`` -> ``talk.<n>.script.mp4``)."""
    suffix = output_suffix(fmt)
    stem = target.name[: -len(suffix)]
    return target.with_name(f"{stem}.{n}{suffix}")


@dataclass
class Staged:
    """One output written to its temp file, waiting to be renamed into ``target``."""

    temp: Path
    target: Path  # the default name; the final one is chosen at commit
    fmt: str


class OutputWriter:
    """Stages outputs in temp files and commits them, consulting the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def temp_for(self, target: Path) -> Path:
        """A hidden temp path next to ``target`` (hidden, so no watcher picks it up)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")

    def choose(self, target: Path, fmt: str, source: Path) -> tuple[Path, tuple[str, str] | None]:
        """The path to write for ``target``; when it is another, ``(name kept, why)``.

        ``talk.md`` was written for another video (``talk.mp4`` beside this
        ``talk.mov``): use ``talk.mov.md``.  It was edited since, or was never
        ours: keep it and use ``talk.2.md`` (then ``.3``, ...).
        """
        base, kept = target, None
        state = self._state(target, source)
        if state.startswith("written for"):
            kept = (target.name, state)
            base = target.with_name(source.name + output_suffix(fmt))
            state = self._state(base, source)
        if state == "free":
            return base, kept
        kept = (base.name, state)
        for n in range(2, 1000):
            candidate = numbered(base, fmt, n)
            if self._state(candidate, source) == "free":
                return candidate, kept
        raise OSError(f"{target}: too many kept copies")

    def _state(self, path: Path, source: Path) -> str:
        """``free`` to (over)write, else why not (as in "talk.md was ...")."""
        if not path.exists():
            return "free"
        record = self.ledger.output_record(path)
        if record is None:
            return "not written by reelscript"
        if record[1] != source:
            return f"written for {record[1].name}"
        try:
            unchanged = sha256_file(path) == record[0]
        except OSError:
            unchanged = False
        return "free" if unchanged else "changed since it was written"

    def commit(
        self, staged: list[Staged], source: Path, source_sha256: str
    ) -> tuple[list[Path], list[str]]:
        """Rename every staged output into place and record it; returns (paths, notes).

        The final name is chosen here, not when staging, so that an output the user
        edits while the video is being processed is still kept.  Synchronous on
        purpose: a cancelled watcher cannot stop between two renames.  One note per
        reason: "talk.md, talk.srt were changed since ..., so kept; wrote talk.2.md, ...".
        """
        written: list[Path] = []
        moved: dict[str, list[tuple[str, str]]] = {}
        for item in staged:
            target, kept = self.choose(item.target, item.fmt, source)
            digest = sha256_file(item.temp)
            os.chmod(item.temp, OUTPUT_MODE)
            os.replace(item.temp, target)
            self.ledger.record_output(target, digest, source_sha256, source)
            written.append(target)
            if kept:
                moved.setdefault(kept[1], []).append((kept[0], target.name))
        notes = []
        for why, pairs in moved.items():
            was = "was" if len(pairs) == 1 else "were"
            notes.append(
                f"{', '.join(k for k, _ in pairs)} {was} {why}, so kept;"
                f" wrote {', '.join(w for _, w in pairs)}"
            )
        return written, notes

    @staticmethod
    def discard(staged: list[Staged]) -> None:
        """Remove temp files of an abandoned or failed video."""
        for item in staged:
            try:
                item.temp.unlink()
            except FileNotFoundError:
                pass

    @staticmethod
    def fsync(path: Path) -> None:
        """Flush a finished temp file to disk before it may be renamed into place."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

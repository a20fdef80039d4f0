"""Fixtures of the app tests: a folder of media with fixed names and contents."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo.mp4"


@pytest.fixture
def media_folder(tmp_path: Path) -> Path:
    """``videos/`` with two media files, a non-media file and a sub-folder.

    The contents are fixed (seeded), so sizes shown in snapshots never change.
    """
    folder = tmp_path / "videos"
    (folder / "archive").mkdir(parents=True)
    rng = random.Random(7)
    (folder / "council.mp4").write_bytes(rng.randbytes(1_900_000))
    (folder / "interview.wav").write_bytes(rng.randbytes(300_000))
    (folder / "notes.txt").write_text("not media\n")
    (folder / "archive" / "old.mkv").write_bytes(rng.randbytes(1000))
    return folder


@pytest.fixture
def demo_folder(tmp_path: Path) -> Path:
    """A folder holding a copy of the fixture video tests/data/demo.mp4."""
    if not DEMO.exists():
        pytest.fail(f"{DEMO} is missing (made by the engine work, see TESTDATA.md)")
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copy(DEMO, folder / "demo.mp4")
    return folder

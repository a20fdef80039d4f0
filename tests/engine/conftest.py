"""Engine test fixtures: pipeline runs shared across the session, and bad media made on the fly."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tui.engine.pipeline import Options, transcribe_file
from tui.engine.script import Script

DATA = Path(__file__).resolve().parents[1] / "data"

#: Multi-speaker fixtures (name -> made from); each has a .truth.json.
CONVERSATIONS = [
    "demo.mp4",
    "real_conversation.mkv",
    "noisy_meeting.webm",
    "phone_call.avi",
    "panel.mov",
]
READINGS = ["reading.mp3", "reading.m4a", "reading.aac", "reading_short.wav"]


def _load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def maker() -> ModuleType:
    """tests/data/make_fixtures.py, to wrap sound in real containers."""
    return _load_maker()


@pytest.fixture(scope="session")
def script_of() -> Callable[[str], Script]:
    """The pipeline's script of a tests/data file (default options), run once per session."""
    cache: dict[str, Script] = {}

    def get(name: str) -> Script:
        if name not in cache:
            cache[name] = transcribe_file(DATA / name, Options())
        return cache[name]

    return get


@pytest.fixture(scope="session")
def bad_media(tmp_path_factory: pytest.TempPathFactory, maker: ModuleType) -> dict[str, Path]:
    """Every kind of bad input, made in a temp folder."""
    root = tmp_path_factory.mktemp("bad")
    files: dict[str, Path] = {}
    files["missing"] = root / "missing.mp4"
    files["empty"] = root / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["text"] = root / "notes.mp4"
    files["text"].write_text("These are my meeting notes, not a video.\n" * 20)
    data = (DATA / "real_conversation.mkv").read_bytes()
    files["truncated"] = root / "truncated.mkv"
    files["truncated"].write_bytes(data[: len(data) // 3])
    mp4 = (DATA / "demo.mp4").read_bytes()
    files["truncated_mp4"] = root / "truncated.mp4"
    files["truncated_mp4"].write_bytes(mp4[: len(mp4) // 2])
    files["no_audio"] = root / "no_audio.mp4"
    maker.write_media(files["no_audio"], None, duration_s=3.0)
    files["silence"] = root / "silence.mov"
    maker.write_media(files["silence"], np.zeros(16000 * 6, np.float32))
    files["large"] = root / "large.mp4"
    with open(files["large"], "wb") as fh:
        fh.write(mp4)
        fh.truncate(3 * 1024 * 1024)  # 3 MB: over a --max-size-mb 2 limit
    return files

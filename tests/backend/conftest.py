"""Backend test fixtures: a strict server (small limits, few credits), clients, media files."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend.media import make_speech_video, make_video
from tests.engine.conftest import DATA
from tests.live_server import LiveServer, start_server
from tui.backend import credits
from tui.backend.config import Backend, Config
from tui.backend.store import Store
from tui.client.http import Client

ATTRIBUTION = {"X-Skill-Source": "tests", "X-Skill-Version": "0", "X-Skill-Platform": "cli"}
EXTRACT = "extract a full written script from this video with speaker labels"
#: The strict server: uploads up to 2 MB, 3 credits per token, heartbeats every second.
STRICT_MB, STRICT_CREDITS = 2, 3


@pytest.fixture(scope="session")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = start_server(
        tmp_path_factory.mktemp("strict-server"),
        "--max-upload-mb", str(STRICT_MB),
        "--starting-credits", str(STRICT_CREDITS),
        REELSCRIPT_HEARTBEAT_S="1",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real files: a short tone video, one without audio, a long one, junk."""
    folder = tmp_path_factory.mktemp("media")
    junk = folder / "notes.mp4"
    junk.write_text("this is a text file with a video's name\n" * 50)
    big = folder / "big.mp4"
    big.write_bytes(b"\0" * (STRICT_MB * 1024 * 1024 + 512 * 1024))
    return {
        "tone": make_video(folder / "tone.mp4", seconds=2.0),
        "silent": make_video(folder / "silent.mp4", seconds=1.0, with_audio=False),
        "long": make_video(folder / "long.mp4", seconds=250.0, fps=1, size=16),
        "junk": junk,
        "big": big,
    }


LINES = [
    ("slt", "Good morning, and welcome to the show. Today we talk about gardens."),
    ("rms", "Thank you for having me. I have grown tomatoes for twenty years."),
    ("slt", "What is the secret to a good harvest?"),
    ("rms", "Patience, water, and a little bit of luck."),
]


@pytest.fixture(scope="session")
def speech_video(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real speech in a real video: the repository's demo video (people talking), or,
    where it is not there yet, two flite voices taking turns."""
    demo = data_dir / "demo.mp4"
    if demo.exists():
        return demo
    if shutil.which("flite") is None:
        pytest.fail("tests/data/demo.mp4 is missing and flite is not installed: no speech to test")
    return make_speech_video(tmp_path_factory.mktemp("speech") / "interview.mp4", LINES)


@pytest.fixture
async def client(strict_server: LiveServer, tmp_path: Path) -> AsyncIterator[Client]:
    async with Client(strict_server.url, token_file=tmp_path / "token.json", platform="cli") as api:
        yield api


@pytest.fixture
async def rich_client(live_server: LiveServer, tmp_path: Path) -> AsyncIterator[Client]:
    """A client of the shared live server (10,000 credits)."""
    async with Client(live_server.url, token_file=tmp_path / "token.json", platform="cli") as api:
        yield api


def new_token(url: str) -> str:
    response = httpx.post(
        f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
    )
    return str(response.json()["data"]["token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **ATTRIBUTION}


def db(server: LiveServer) -> sqlite3.Connection:
    """The server's own database, read (and, for a few fault cases, changed) directly."""
    team = getattr(server, "team", None)
    if team is not None:  # pytest --team: the same SQL on the server's PostgreSQL
        from tests.team_services import TestDb

        return TestDb(team[0].database)  # type: ignore[return-value]
    conn = sqlite3.connect(server.data_dir / "reelscript.db", timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def backend_with_a_file(
    tmp_path: Path,
    media: str,
    duration_ms: int,
    *,
    model: str | None = None,
    language: str = "en",
    starting_credits: int = 20,
    store: Store | None = None,
) -> tuple[Backend, str, Any, str]:
    """A backend on a real store (no server) with a token, a session of ``language`` and
    ``media`` from tests/data uploaded: (backend, token, session, video_id)."""
    store = store or Store(tmp_path / "data")
    backend = Backend(Config(data_dir=tmp_path / "data", model=model), store)
    token = credits.authenticate(store, credits.issue_token(store, "c1", starting_credits)["token"])
    assert token
    sid = store.create_session(token, "project", language)["session_id"]
    copy = tmp_path / media
    shutil.copy(DATA / media, copy)
    info = {"name": media, "has_audio": True, "duration_ms": duration_ms}
    video_id = store.add_file(sid, f"sha-{media}", copy, info)["video_id"]
    return backend, token, store.session(sid, token), video_id

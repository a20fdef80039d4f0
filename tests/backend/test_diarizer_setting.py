"""`reelscript serve --diarizer`: the server's choice of speaker labels reaches every job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.conftest import EXTRACT
from tests.engine.conftest import DATA
from tests.live_server import LiveServer, start_server
from tui.client.http import Client


@pytest.fixture(scope="module")
def campplus_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = start_server(
        tmp_path_factory.mktemp("campplus-server"), "--starting-credits", "100",
        "--diarizer", "campplus",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.mark.slow
async def test_a_campplus_server_labels_with_the_builtin_labeller(
    campplus_server: LiveServer, tmp_path: Path
) -> None:
    """A server run with --diarizer campplus (another name for builtin, kept so no
    script breaks) labels its jobs: a same-room two-person call has two speakers,
    and the script carries who speaks when (segments, overlaps)."""
    async with Client(campplus_server.url, token_file=tmp_path / "t.json") as api:
        session = await api.create_session(language="en")
        await api.upload_files(session.session_id, [DATA / "room_2spk_backchannel.webm"])
        events = [e async for e in api.run_sse(session.session_id, EXTRACT)]
        [done] = [r for e in events for r in e.function_responses]
        assert done["response"]["status"] == "completed", done
        script = (await api.state(session.session_id))["script"]
        assert len(script["speakers"]) == 2
        assert len({t["speaker"] for t in script["turns"]}) == 2
        assert script["segments"] and "overlaps" in script


def test_serve_refuses_an_unknown_diarizer(tmp_path: Path) -> None:
    done = subprocess.run(
        [Path(sys.executable).with_name("reelscript"), "serve", "--diarizer", "magic"],
        capture_output=True,
        text=True,
        env={"REELSCRIPT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2 and "Invalid value for '--diarizer'" in done.stderr

"""A laptop data dir made by the previous release keeps working after the upgrade.

The previous release (commit c6a8b59: a WAL database, absolute paths in the
rows, exports under ``exports/<render id>/``) is taken out of the repository's
history with ``git archive`` and run as it was: it gives a token, scripts a
recording and exports an SRT.  This version then serves the same data dir:
the token, the session's state and script, the old export's download, edits
and new jobs all work.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import ATTRIBUTION, EXTRACT
from tests.live_server import start_server

PREVIOUS = "c6a8b59"
ROOT = Path(__file__).resolve().parents[2]


def previous_release(folder: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: the previous release cannot be taken from history")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", PREVIOUS, "tui"], capture_output=True, check=False
    )
    if archive.returncode:
        pytest.fail(f"commit {PREVIOUS} is not in this clone's history (a shallow clone?)")
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def run_old(code: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("REELSCRIPT_HOME", None)
    log = open(data.parent / "old-server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--data-dir", str(data), "serve", "--port", "0",
         "--starting-credits", "100", "--diarizer", "none"],  # the data dir matters, not labels
        cwd=code, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(900):
        try:
            url = json.loads((data / "server.json").read_text())["url"]
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return process, url
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    pytest.fail(
        f"the previous release did not start: {(data.parent / 'old-server.log').read_text()}"
    )


def extract(http: httpx.Client, url: str, auth: dict[str, str], session: str) -> str:
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": session,
            "new_message": {"role": "user", "parts": [{"text": EXTRACT}]}}  # fmt: skip
    return http.post(f"{url}/run_sse", json=body, headers=auth).text


def upload(http: httpx.Client, url: str, auth: dict[str, str], session: str, media: Path) -> str:
    files = {"files": (media.name, media.read_bytes())}
    reply = http.post(f"{url}/api/upload-video/nemo_agent/me/{session}", files=files, headers=auth)
    return str(reply.json()["data"]["files"][0]["video_id"])


@pytest.mark.slow
def test_a_data_dir_of_the_previous_release_keeps_working(tmp_path: Path, data_dir: Path) -> None:
    code = previous_release(tmp_path / "previous")
    data = tmp_path / "data"
    process, url = run_old(code, data)
    try:
        with httpx.Client(timeout=120) as http:
            got = http.post(
                f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
            )
            auth = {"Authorization": f"Bearer {got.json()['data']['token']}"}
            session = http.post(f"{url}/api/tasks/me/with-session/nemo_agent",
                                json={"task_name": "old", "language": "en"}, headers=auth
                                ).json()["data"]["session_id"]  # fmt: skip
            video = upload(http, url, auth, session, data_dir / "reading_short.wav")
            assert "ready" in extract(http, url, auth, session)
            body = {
                "id": "old-srt",
                "sessionId": session,
                "video_id": video,
                "output": {"format": "srt"},
            }
            http.post(f"{url}/api/render/proxy/lambda", json=body, headers={**auth, **ATTRIBUTION})
            for _ in range(300):
                status = http.get(f"{url}/api/render/proxy/lambda/old-srt", headers=auth)
                if status.json()["data"]["status"] == "completed":
                    break
                time.sleep(0.1)
            old_srt = http.get(
                f"{url}/api/render/proxy/lambda/old-srt/download", headers=auth
            ).content
            old_state = http.get(
                f"{url}/api/state/nemo_agent/me/{session}/latest", headers=auth
            ).json()
    finally:
        process.terminate()
        process.wait(30)
    with closing(sqlite3.connect(data / "reelscript.db")) as db:  # what the previous release left
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        [(path,)] = db.execute("SELECT path FROM exports").fetchall()
        assert Path(path).is_absolute() and Path(path).parent.name == "old-srt"
        assert all(Path(p).is_absolute() for (p,) in db.execute("SELECT path FROM files"))
    assert b"-->" in old_srt

    server = start_server(data)  # this version on the same data dir
    try:
        with httpx.Client(timeout=120, base_url=server.url, headers=auth) as http:
            state = http.get(f"/api/state/nemo_agent/me/{session}/latest").json()["data"]["state"]
            old = old_state["data"]["state"]
            assert state["script"] == old["script"] and state["script"]["revision"] == 1
            assert state["video_infos"] == old["video_infos"]
            assert [j["status"] for j in state["jobs"]] == ["completed"]
            assert http.get("/api/render/proxy/lambda/old-srt/download").content == old_srt
            edited = {**state["script"], "turns": state["script"]["turns"][:1]}
            put = http.put(
                f"/api/script/nemo_agent/me/{session}", json={"script": edited, "revision": 1}
            )
            assert put.json()["data"]["script"]["revision"] == 2
            upload(http, server.url, {}, session, data_dir / "reading.mp3")
            assert "ready" in extract(http, server.url, {}, session)
            state = http.get(f"/api/state/nemo_agent/me/{session}/latest").json()["data"]["state"]
            assert [j["status"] for j in state["jobs"]] == ["completed", "completed"]
            assert len(state["scripts"]) == 2
    finally:
        server.stop()
    # New rows are relative to the data dir.
    with closing(sqlite3.connect(data / "reelscript.db")) as db:
        paths = [p for (p,) in db.execute("SELECT path FROM files ORDER BY created_at")]
        assert Path(paths[0]).is_absolute() and paths[1].startswith("media/")

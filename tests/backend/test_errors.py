"""Every error row of docs/api.md's table, reached over real HTTP against a running backend."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import ATTRIBUTION, EXTRACT, STRICT_CREDITS, auth, db, new_token
from tests.backend.media import make_video
from tests.live_server import LiveServer


def envelope(response: httpx.Response, status: int, code: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "data"}
    assert body["message"] and "\n" not in body["message"] and "Traceback" not in body["message"]
    return body


def session(url: str, token: str) -> str:
    response = httpx.post(
        f"{url}/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "project", "language": "en"},
        headers=auth(token),
    )
    return str(envelope(response, 200, 0)["data"]["session_id"])


def upload(url: str, token: str, sid: str, path: Path) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(
            f"{url}/api/upload-video/nemo_agent/me/{sid}",
            files=[("files", (path.name, fh, "video/mp4"))],
            headers=auth(token),
            timeout=60,
        )


def run(url: str, token: str, sid: str, text: str) -> httpx.Response:
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": sid,
            "new_message": {"parts": [{"text": text}]}}  # fmt: skip
    return httpx.post(f"{url}/run_sse", json=body, headers=auth(token), timeout=60)


def test_client_id_missing_is_400(strict_server: LiveServer) -> None:
    response = httpx.post(f"{strict_server.url}/api/auth/anonymous-token")
    envelope(response, 400, 400)


def test_second_token_for_a_client_is_429_with_retry_after(strict_server: LiveServer) -> None:
    client_id = str(uuid.uuid4())
    first = httpx.post(
        f"{strict_server.url}/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
    )
    data = envelope(first, 200, 0)["data"]
    assert data["credits"] == STRICT_CREDITS and data["expires_at"].endswith("Z")
    second = httpx.post(
        f"{strict_server.url}/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
    )
    envelope(second, 429, 429)
    retry_after = int(second.headers["Retry-After"])
    assert 7 * 24 * 3600 - 120 < retry_after <= 7 * 24 * 3600 + 1


def test_tokens_are_stored_hashed(strict_server: LiveServer) -> None:
    token = new_token(strict_server.url)
    with db(strict_server) as conn:
        stored = [r[0] for r in conn.execute("SELECT hash FROM tokens")]
    assert token not in stored and len(stored[-1]) == 64


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_bad_token_is_1001(strict_server: LiveServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{strict_server.url}/api/credits/balance/simple", headers=headers)
    envelope(response, 401, 1001)


def test_expired_token_is_1001(strict_server: LiveServer) -> None:
    token = new_token(strict_server.url)
    assert (
        httpx.get(
            f"{strict_server.url}/api/credits/balance/simple", headers=auth(token)
        ).status_code
        == 200
    )
    with db(strict_server) as conn:  # a week later
        conn.execute(
            "UPDATE tokens SET expires_at=? WHERE hash=?",
            (time.time() - 1, hashlib.sha256(token.encode()).hexdigest()),
        )
    response = httpx.get(f"{strict_server.url}/api/credits/balance/simple", headers=auth(token))
    envelope(response, 401, 1001)


def test_unknown_and_foreign_sessions_answer_the_same_1002(
    strict_server: LiveServer, media
) -> None:
    url = strict_server.url
    owner, other = new_token(url), new_token(url)
    sid = session(url, owner)
    envelope(upload(url, owner, sid, media["tone"]), 200, 0)
    for target in (sid, "ses_doesnotexist"):
        state = httpx.get(f"{url}/api/state/nemo_agent/me/{target}/latest", headers=auth(other))
        body = envelope(state, 404, 1002)
        assert body["message"] == f"session {target} not found"
        envelope(upload(url, other, target, media["tone"]), 404, 1002)
        envelope(run(url, other, target, EXTRACT), 404, 1002)
        put = httpx.put(
            f"{url}/api/script/nemo_agent/me/{target}",
            json={"revision": 0, "script": {}},
            headers=auth(other),
        )
        envelope(put, 404, 1002)
    envelope(httpx.post(f"{url}/api/jobs/job_nope/cancel", headers=auth(other)), 404, 1002)
    envelope(
        httpx.get(f"{url}/api/render/proxy/lambda/render_nope", headers=auth(other)), 404, 1002
    )
    envelope(httpx.get(f"{url}/no/such/path"), 404, 1002)


def test_undecodable_upload_is_4001_and_keeps_nothing(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    body = envelope(upload(url, token, sid, media["junk"]), 415, 4001)
    assert "notes.mp4" in body["message"] and "mp4" in body["data"]["supported"]
    # Said once: the engine's own list of formats is not repeated after the backend's.
    assert body["message"].count("supported:") == 1 and body["message"].count("notes.mp4") == 1
    assert list((strict_server.data_dir / "tmp").iterdir()) == []


def test_oversize_upload_is_cut_off_with_4002(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    before = {p for p in (strict_server.data_dir / "media").rglob("*") if p.is_file()}
    envelope(upload(url, token, sid, media["big"]), 413, 4002)
    assert list((strict_server.data_dir / "tmp").iterdir()) == []
    after = {p for p in (strict_server.data_dir / "media").rglob("*") if p.is_file()}
    assert after == before

    # A body without Content-Length (chunked) is cut off by the running check too.
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.mp4"\r\n\r\n'
        for _ in range(40):
            yield b"\1" * (128 * 1024)
        yield b"\r\n--b--\r\n"

    response = httpx.post(
        f"{url}/api/upload-video/nemo_agent/me/{sid}", content=chunks(),
        headers={**auth(token), "Content-Type": "multipart/form-data; boundary=b"}, timeout=60,
    )  # fmt: skip
    envelope(response, 413, 4002)
    assert list((strict_server.data_dir / "tmp").iterdir()) == []


def test_not_enough_credits_is_2001_and_nothing_starts(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    envelope(upload(url, token, sid, media["long"]), 200, 0)  # 250 s: 5 credits, 3 owned
    body = envelope(run(url, token, sid, EXTRACT), 402, 2001)
    assert body["data"] == {"needed": 5, "available": STRICT_CREDITS}
    balance = httpx.get(f"{url}/api/credits/balance/simple", headers=auth(token)).json()["data"]
    assert balance["available"] == STRICT_CREDITS and balance["frozen"] == 0
    state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()
    assert state["data"]["state"]["jobs"] == []


def _scripted_session(url: str, token: str, media) -> tuple[str, str]:
    sid = session(url, token)
    video_id = envelope(upload(url, token, sid, media["tone"]), 200, 0)["data"]["files"][0][
        "video_id"
    ]
    script = {"video_id": video_id, "revision": 0, "language": "en", "speakers": {"S1": "Speaker 1"},
              "turns": [{"speaker": "S1", "start_ms": 0, "end_ms": 900, "text": "hello there",
                         "words": [{"w": "hello", "s": 0, "e": 400, "p": 0.9},
                                   {"w": "there", "s": 500, "e": 900, "p": 0.8}]}]}  # fmt: skip
    put = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 0, "script": script},
        headers=auth(token),
    )
    assert envelope(put, 200, 0)["data"]["script"]["revision"] == 1
    return sid, video_id


def test_stale_revision_is_409_with_the_current_script(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid, video_id = _scripted_session(url, token, media)
    state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()[
        "data"
    ]["state"]
    mine, theirs = dict(state["script"]), dict(state["script"])
    theirs["speakers"] = {"S1": "Diane"}
    ok = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 1, "script": theirs},
        headers=auth(token),
    )
    assert envelope(ok, 200, 0)["data"]["script"]["revision"] == 2
    mine["speakers"] = {"S1": "Sheila"}
    stale = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 1, "script": mine},
        headers=auth(token),
    )
    body = envelope(stale, 409, 409)
    assert body["data"]["script"]["revision"] == 2 and body["data"]["script"]["speakers"] == {
        "S1": "Diane"
    }


def test_export_without_attribution_headers_is_402(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid, _ = _scripted_session(url, token, media)
    body = {
        "id": "render_1",
        "sessionId": sid,
        "draft": {},
        "output": {"format": "md", "quality": "high"},
    }
    bare = httpx.post(
        f"{url}/api/render/proxy/lambda", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    refused = envelope(bare, 402, 402)
    assert "attribution" in refused["message"]
    ok = httpx.post(f"{url}/api/render/proxy/lambda", json=body, headers=auth(token))
    envelope(ok, 200, 0)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"Content-Type": "application/json"}),
        (b'{"task_name": 5, "language": ["en"]}', {"Content-Type": "application/json"}),
        (b'{"language": "en; DROP TABLE"}', {"Content-Type": "application/json"}),
    ],
)
def test_malformed_or_mistyped_bodies_are_422(
    strict_server: LiveServer, content: bytes, headers: dict
) -> None:
    token = new_token(strict_server.url)
    response = httpx.post(
        f"{strict_server.url}/api/tasks/me/with-session/nemo_agent",
        content=content,
        headers={**auth(token), **headers},
    )
    envelope(response, 422, 422)


def test_wrong_types_in_run_put_and_render_are_422(strict_server: LiveServer) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    bad_run = httpx.post(
        f"{url}/run_sse",
        json={"session_id": sid, "new_message": {"parts": "hi"}},
        headers=auth(token),
    )
    envelope(bad_run, 422, 422)
    bad_put = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": "one", "script": []},
        headers=auth(token),
    )
    envelope(bad_put, 422, 422)
    bad_script = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 0, "script": {"turns": [{"x": 1}]}},
        headers=auth(token),
    )
    envelope(bad_script, 422, 422)
    bad_format = httpx.post(
        f"{url}/api/render/proxy/lambda",
        json={"id": "r", "sessionId": sid, "output": {"format": "exe"}},
        headers=auth(token),
    )
    envelope(bad_format, 422, 422)


def test_url_upload_refuses_other_schemes(strict_server: LiveServer) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    for bad in ("file:///etc/passwd", "ftp://example.com/a.mp4"):
        response = httpx.post(
            f"{url}/api/upload-video/nemo_agent/me/{sid}",
            json={"urls": [bad], "source_type": "url"},
            headers=auth(token),
        )
        assert "only http and https" in envelope(response, 422, 422)["message"]


def test_attribution_headers_are_logged(strict_server: LiveServer) -> None:
    httpx.get(
        f"{strict_server.url}/api/health", headers={**ATTRIBUTION, "X-Skill-Source": "logcheck"}
    )
    deadline = time.monotonic() + 5
    while "source=logcheck" not in strict_server.log and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "source=logcheck version=0 platform=cli" in strict_server.log


def test_an_unexpected_failure_is_a_500_envelope_and_keeps_nothing(
    strict_server: LiveServer, tmp_path: Path
) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    for tenths in range(11, 40):  # a new file whose media folder does not exist yet
        video = make_video(tmp_path / f"v{tenths}.mp4", seconds=tenths / 10, with_audio=False)
        shard = (
            strict_server.data_dir / "media" / hashlib.sha256(video.read_bytes()).hexdigest()[:2]
        )
        if not shard.exists():
            break
    shard.write_text("a damaged data dir: a file where a folder belongs")
    try:
        body = envelope(upload(url, token, sid, video), 500, 500)
        assert body["message"].startswith("internal error: ")
        assert list((strict_server.data_dir / "tmp").iterdir()) == []
        state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()
        assert state["data"]["state"]["video_infos"] == []
    finally:
        shard.unlink()
    envelope(upload(url, token, sid, video), 200, 0)

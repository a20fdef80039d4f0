"""Attacks through the public API on a real server: exports across tokens, export ids
that are paths, malformed and oversized bodies, resuming with an unknown event id."""

from __future__ import annotations

import hashlib
import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import auth, db, new_token
from tests.backend.test_errors import envelope, run, session, upload
from tests.live_server import LiveServer

MB = 1024 * 1024


def scripted(url: str, token: str, video: Path, text: str) -> tuple[str, str]:
    """A session of ``token`` holding ``video`` and a script saying ``text`` (PUT revision 0)."""
    sid = session(url, token)
    video_id = envelope(upload(url, token, sid, video), 200, 0)["data"]["files"][0]["video_id"]
    script = {"video_id": video_id, "revision": 0, "language": "en", "speakers": {"S1": "A"},
              "turns": [{"speaker": "S1", "start_ms": 0, "end_ms": 900, "text": text}]}  # fmt: skip
    put = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 0, "script": script},
        headers=auth(token),
    )
    envelope(put, 200, 0)
    return sid, video_id


def export(url: str, token: str, sid: str, render_id: str, fmt: str = "txt") -> httpx.Response:
    body = {"id": render_id, "sessionId": sid, "draft": {}, "output": {"format": fmt}}
    return httpx.post(f"{url}/api/render/proxy/lambda", json=body, headers=auth(token))


def downloaded(url: str, token: str, render_id: str) -> str:
    """The export's text once it completed (fails on a failed or missing export)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/api/render/proxy/lambda/{render_id}", headers=auth(token))
        data = envelope(status, 200, 0)["data"]
        assert data["status"] != "failed", data
        if data["status"] == "completed":
            got = httpx.get(
                f"{url}/api/render/proxy/lambda/{render_id}/download", headers=auth(token)
            )
            assert got.status_code == 200, got.text
            return got.text
        time.sleep(0.1)
    raise AssertionError(f"export {render_id} did not finish")


def test_one_export_id_under_two_tokens_never_shares_a_file(
    strict_server: LiveServer, media
) -> None:
    url = strict_server.url
    alice, bob = new_token(url), new_token(url)
    a_sid, _ = scripted(url, alice, media["tone"], "alice private words")
    b_sid, _ = scripted(url, bob, media["tone"], "bob words")  # same file, same name
    envelope(export(url, alice, a_sid, "render_shared"), 200, 0)
    assert "alice private words" in downloaded(url, alice, "render_shared")
    # Bob exports under Alice's id: his own export, Alice's file untouched.
    envelope(export(url, bob, b_sid, "render_shared"), 200, 0)
    assert "bob words" in downloaded(url, bob, "render_shared")
    assert "alice private words" in downloaded(url, alice, "render_shared")
    # A second export with an id the token used is refused; it deletes nothing.
    again = envelope(export(url, bob, b_sid, "render_shared"), 422, 422)
    assert "already used" in again["message"]
    assert "alice private words" in downloaded(url, alice, "render_shared")
    assert "bob words" in downloaded(url, bob, "render_shared")
    # Bob creating an id first does not let him read what Alice later exports under it.
    envelope(export(url, bob, b_sid, "render_first"), 200, 0)
    assert "bob words" in downloaded(url, bob, "render_first")
    envelope(export(url, alice, a_sid, "render_first"), 200, 0)
    assert "alice private words" in downloaded(url, alice, "render_first")
    assert "alice" not in downloaded(url, bob, "render_first")


def _outside_exports(data_dir: Path) -> dict[str, str]:
    """Every file of the data dir outside exports/ (less the database and the log), hashed."""
    return {
        str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in data_dir.rglob("*")
        if path.is_file()
        and path.relative_to(data_dir).parts[0] not in ("exports", "test-server.log")
        and not path.name.startswith("reelscript.db")
    }


@pytest.mark.parametrize(
    "render_id", ["..", ".", "../..", "a/b", "..\\x", "a.b", "-x", "", "x" * 101, "név"]
)
def test_an_export_id_is_a_name_never_a_path(
    strict_server: LiveServer, media, tmp_path: Path, render_id: str
) -> None:
    url = strict_server.url
    token = new_token(url)
    named = tmp_path / "server.webm"  # exported as <id>/server.json
    named.write_bytes(media["tone"].read_bytes())
    sid, _ = scripted(url, token, named, "overwrite attempt")
    before = _outside_exports(strict_server.data_dir)
    for fmt in ("json", "txt"):
        envelope(export(url, token, sid, render_id, fmt), 422, 422)
    time.sleep(0.3)  # an export, had one started, would have written by now
    assert _outside_exports(strict_server.data_dir) == before
    with db(strict_server) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM exports WHERE session_id=?", (sid,)).fetchone()
    assert rows[0] == 0


def test_export_folders_are_named_by_the_server(strict_server: LiveServer, media) -> None:
    url = strict_server.url
    token = new_token(url)
    sid, _ = scripted(url, token, media["tone"], "hello")
    envelope(export(url, token, sid, "render_folder"), 200, 0)
    downloaded(url, token, "render_folder")
    folders = [p.name for p in (strict_server.data_dir / "exports").iterdir()]
    assert "render_folder" not in folders and "render_shared" not in folders


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe{", b'{"a": "\xc3"}', b'{"x":' * 50_000 + b"1" + b"}" * 50_000],
    ids=["not-utf8", "broken-utf8", "nested-too-deep"],
)
def test_malformed_json_is_422_never_400(strict_server: LiveServer, content: bytes) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    headers = {**auth(token), "Content-Type": "application/json"}
    for method, path in [
        ("POST", "/run_sse"),
        ("PUT", f"/api/script/nemo_agent/me/{sid}"),
        ("POST", "/api/render/proxy/lambda"),
        ("POST", "/api/tasks/me/with-session/nemo_agent"),
        ("POST", f"/api/upload-video/nemo_agent/me/{sid}"),
    ]:
        response = httpx.request(method, f"{url}{path}", content=content, headers=headers)
        envelope(response, 422, 422)


def _events(response: httpx.Response) -> list[int]:
    return [int(line[3:]) for line in response.text.splitlines() if line.startswith("id:")]


def _invocations(server: LiveServer, sid: str) -> int:
    with db(server) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM invocations WHERE session_id=?", (sid,)).fetchone()[
                0
            ]
        )


def test_an_unknown_last_event_id_is_422_and_starts_nothing(
    strict_server: LiveServer, media
) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid, _ = scripted(url, token, media["tone"], "hello")
    first = run(url, token, sid, "status")
    assert first.status_code == 200
    ids = _events(first)
    assert len(ids) >= 2
    other = new_token(url)
    other_sid, _ = scripted(url, other, media["tone"], "x")
    others = _events(run(url, other, other_sid, "status"))
    count = _invocations(strict_server, sid)
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": sid,
            "new_message": {"parts": [{"text": "status"}]}}  # fmt: skip
    for unknown in ("0", str(max(ids + others) + 1000), str(others[0]), "abc", "-1"):
        response = httpx.post(
            f"{url}/run_sse",
            json=body,
            headers={**auth(token), "Last-Event-ID": unknown},
        )
        assert "text/event-stream" not in response.headers.get("content-type", "")
        assert "Last-Event-ID" in envelope(response, 422, 422)["message"]
    assert _invocations(strict_server, sid) == count  # no new work, nothing charged
    # A known id resumes that stream after it, with no new invocation either.
    resumed = httpx.post(
        f"{url}/run_sse", json=body, headers={**auth(token), "Last-Event-ID": str(ids[0])}
    )
    assert resumed.status_code == 200 and _events(resumed) == ids[1:]
    assert _invocations(strict_server, sid) == count


def test_oversized_json_bodies_are_413_request_too_large(strict_server: LiveServer) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid = session(url, token)
    pad = "x" * (2 * MB)
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": sid, "pad": pad,
            "new_message": {"parts": [{"text": "status"}]}}  # fmt: skip
    count = _invocations(strict_server, sid)
    sized = httpx.post(f"{url}/run_sse", json=body, headers=auth(token))
    assert "request too large" in envelope(sized, 413, 422)["message"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"session_id": "' + sid.encode() + b'", "pad": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'", "new_message": {"parts": [{"text": "status"}]}}'

    streamed = httpx.post(
        f"{url}/run_sse",
        content=chunks(),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert "request too large" in envelope(streamed, 413, 422)["message"]
    assert _invocations(strict_server, sid) == count
    urls = httpx.post(
        f"{url}/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": ["http://example.com/a.mp4"], "source_type": "url", "pad": pad},
        headers=auth(token),
    )
    envelope(urls, 413, 422)


def _raw_post(url: str, token: str, length: int) -> socket.socket:
    """A connection that has sent the headers of a ``length``-byte POST to /run_sse, no body."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    head = (
        f"POST /run_sse HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    conn.sendall(head.encode())
    return conn


def _answer(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset fails the test)."""
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def _answer_head(conn: socket.socket) -> bytes:
    """The first bytes the server sends (within 10 s)."""
    assert select.select([conn], [], [], 10.0)[0], "no answer to a 10 GB declared body"
    return conn.recv(65536)


def test_an_oversized_body_is_read_to_its_end_before_the_413(strict_server: LiveServer) -> None:
    """A server that answered and closed while the client still sent would reset the
    connection, and the client could lose the answer (seen as "connection reset")."""
    url, token = strict_server.url, new_token(strict_server.url)
    conn = _raw_post(url, token, 3 * MB)
    with conn:
        conn.sendall(b"x" * MB)
        assert select.select([conn], [], [], 1.0)[0] == [], "answered before the body was read"
        conn.sendall(b"x" * (2 * MB))
        answer = _answer(conn)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"request too large" in answer
    huge = _raw_post(url, token, 10 * 1024 * MB)  # past what is worth reading: answered at once
    with huge:
        assert _answer_head(huge).startswith(b"HTTP/1.1 413")


def test_a_script_is_held_to_a_size_of_its_media(strict_server: LiveServer, media) -> None:
    url, token = strict_server.url, new_token(strict_server.url)
    sid, video_id = scripted(url, token, media["tone"], "hello")  # a 2 s file: 1.25 MB
    turn = {"speaker": "S1", "start_ms": 0, "end_ms": 900, "text": "word " * 20}
    script = {
        "video_id": video_id,
        "revision": 1,
        "speakers": {"S1": "A"},
        "turns": [turn] * 20_000,
    }  # fmt: skip  (about 2.5 MB)
    put = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 1, "script": script},
        headers=auth(token),
        timeout=60,
    )
    assert "request too large" in envelope(put, 413, 422)["message"]
    state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()
    assert state["data"]["state"]["scripts"][video_id]["revision"] == 1  # nothing stored
    script["turns"] = [turn] * 1000  # about 130 KB: fine
    put = httpx.put(
        f"{url}/api/script/nemo_agent/me/{sid}",
        json={"revision": 1, "script": script},
        headers=auth(token),
    )
    assert envelope(put, 200, 0)["data"]["script"]["revision"] == 2

"""tui.client.http against a real server: token on disk and renewed, 429 retry, typed errors, resume."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import EXTRACT, STRICT_CREDITS, db
from tests.live_server import LiveServer, start_server
from tui.client.http import (
    Client,
    FileTooLarge,
    NoCredits,
    NotFound,
    RevisionConflict,
    TokenStore,
    UnsupportedFile,
)


async def test_token_is_kept_on_disk_and_reused(strict_server: LiveServer, tmp_path: Path) -> None:
    token_file = tmp_path / "client.json"
    async with Client(strict_server.url, token_file=token_file) as api:
        await api.credits()
    saved = TokenStore.load(token_file)
    assert saved.client_id and len(saved.tokens) == 1
    assert token_file.stat().st_mode & 0o777 == 0o600
    async with Client(strict_server.url, token_file=token_file) as again:
        assert (await again.credits())["total"] == STRICT_CREDITS
    assert TokenStore.load(token_file).tokens == saved.tokens
    with db(strict_server) as conn:
        count = conn.execute(
            "SELECT COUNT(*) FROM tokens WHERE client_id=?", (saved.client_id,)
        ).fetchone()[0]
    assert count == 1


async def test_expired_token_is_renewed_once(strict_server: LiveServer, tmp_path: Path) -> None:
    token_file = tmp_path / "client.json"
    async with Client(strict_server.url, token_file=token_file) as api:
        session = await api.create_session()
        old = TokenStore.load(token_file)
        with db(strict_server) as conn:  # eight days later
            conn.execute(
                "UPDATE tokens SET created_at=created_at-?, expires_at=? WHERE client_id=?",
                (8 * 86400, time.time() - 86400, old.client_id),
            )
        fresh = await api.create_session()  # 1001, new token, retried
        assert fresh.session_id != session.session_id
        # The client's secret proved its id: the new token acts for the same account.
        assert (await api.state(session.session_id))["jobs"] == []
    new = TokenStore.load(token_file)
    assert new.client_id == old.client_id and new.tokens != old.tokens


async def test_rate_limit_waits_retry_after_once(strict_server: LiveServer, tmp_path: Path) -> None:
    client_id = str(uuid.uuid4())  # a token asked for without a client secret
    httpx.post(f"{strict_server.url}/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    second = tmp_path / "b.json"
    # A file from before client secrets, its token lost: the id cannot be proved and
    # has a token for 7 days (429), so the client takes a new identity, never waits days.
    TokenStore(second, client_id=client_id).save()
    async with Client(strict_server.url, token_file=second) as api:
        assert (await api.credits())["total"] == STRICT_CREDITS
    [kept] = TokenStore.load(second).tokens.values()
    assert kept["client_id"] != client_id and kept["token"]  # a new identity for this server
    second = tmp_path / "c.json"
    TokenStore(second, client_id=client_id).save()
    with db(strict_server) as conn:  # the first token was made 7 days minus 2 s ago
        conn.execute(
            "UPDATE tokens SET created_at=? WHERE client_id=?",
            (time.time() - 7 * 86400 + 2, client_id),
        )
    started = time.monotonic()
    async with Client(strict_server.url, token_file=second) as api:
        assert (await api.credits())["total"] == STRICT_CREDITS
    assert time.monotonic() - started >= 1.5  # it waited for Retry-After, then succeeded


async def test_typed_errors(client: Client, media, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="not found"):
        await client.state("ses_nope")
    session = await client.create_session()
    with pytest.raises(UnsupportedFile, match="notes.mp4"):
        await client.upload_files(session.session_id, [media["junk"]])
    with pytest.raises(FileTooLarge, match="2 MB"):  # refused before sending a byte
        await client.upload_files(session.session_id, [media["big"]])
    await client.upload_files(session.session_id, [media["long"]])
    with pytest.raises(NoCredits) as no_credits:
        [e async for e in client.run_sse(session.session_id, EXTRACT)]
    assert no_credits.value.status == 402 and no_credits.value.data["needed"] == 5
    [info] = await client.upload_files(session.session_id, [media["tone"]])
    script = {"video_id": info["video_id"], "revision": 0, "speakers": {}, "turns": []}
    saved = await client.put_script(session.session_id, script)
    await client.put_script(session.session_id, {**saved, "language": "fr"})
    with pytest.raises(RevisionConflict) as conflict:
        await client.put_script(session.session_id, saved)
    assert conflict.value.current_script["revision"] == 2
    assert conflict.value.current_script["language"] == "fr"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_stream_resumes_by_itself_across_a_server_crash(
    tmp_path: Path, speech_video: Path
) -> None:
    port = free_port()
    server = start_server(tmp_path / "data", "--port", str(port), "--starting-credits", "100")
    try:
        async with Client(server.url, token_file=tmp_path / "t.json") as api:
            sid = (await api.create_session()).session_id
            await api.upload_files(sid, [speech_video])
            events = []
            async for event in api.run_sse(sid, EXTRACT):
                events.append(event)
                if len(events) == 2:
                    server.kill()  # mid-stream: the connection drops
                    server.start()  # same port, same data dir
        [done] = [r["response"] for e in events for r in e.function_responses]
        assert done["status"] == "completed", (done, server.log[-3000:])
        ids = [int(e.id) for e in events if e.kind != "heartbeat"]
        assert ids == sorted(set(ids))
        assert json.loads((tmp_path / "data" / "server.json").read_text())["port"] == port
    finally:
        server.stop()

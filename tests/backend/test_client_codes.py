"""What tui.client.http (and the app's Connection) does for each error code of docs/api.md's table.

Codes the real backend answers to the real client are tested against it
(``live_server``, ``strict_server``).  Codes the real client can never draw
from the real backend (400: it always sends ``X-Client-Id``; 402: it always
sends the attribution headers; 500: a bug) come from :class:`ScriptedBackend`,
a small FastAPI app under a real uvicorn server on loopback that answers, in
docs/api.md's envelope, whatever a test tells it to, and counts what it was asked.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests.backend.conftest import EXTRACT, STRICT_CREDITS, db
from tests.live_server import LiveServer
from tui.app.connection import Connection, explain
from tui.client.http import (
    AuthError,
    BadRequest,
    Client,
    ExportRefused,
    FileTooLarge,
    InvalidRequest,
    NoCredits,
    NotFound,
    RateLimited,
    RevisionConflict,
    ServerError,
    TokenStore,
    UnsupportedFile,
)

STATUS = {400: 400, 402: 402, 422: 422, 409: 409, 429: 429, 1001: 401, 1002: 404}
STATUS |= {2001: 402, 4001: 415, 4002: 413, 500: 500}


# -- a scripted backend ---------------------------------------------------------------
class ScriptedBackend:
    """A real HTTP server whose routes answer the codes queued in :attr:`plan`, then succeed."""

    def __init__(self) -> None:
        self.plan: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        self.calls: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.tokens = 0
        self.crash_download = False
        self.app = FastAPI()
        self._routes()
        self.url = ""
        self._server: uvicorn.Server | None = None

    def answer(self, route: str, code: int, **headers: str) -> None:
        """The next call of ``route`` answers ``code`` (with ``headers``)."""
        self.plan[route].append((code, headers))

    def _planned(self, route: str, request: Request) -> Response | None:
        self.calls[route].append(dict(request.headers))
        if not self.plan[route]:
            return None
        code, headers = self.plan[route].pop(0)
        body = {"code": code, "message": f"scripted {code} on {route}", "data": {}}
        return JSONResponse(body, status_code=STATUS[code], headers=headers)

    def _routes(self) -> None:
        app = self.app

        def ok(data: Any) -> dict[str, Any]:
            return {"code": 0, "message": "ok", "data": data}

        @app.get("/api/health")
        async def health(request: Request) -> Any:
            return ok({"status": "ok", "server_id": "scripted", "max_upload_bytes": 10**9})

        @app.post("/api/auth/anonymous-token")
        async def token(request: Request) -> Any:
            client_id = request.headers.get("x-client-id", "")
            self.calls["token-ids"].append({"id": client_id})
            planned = self._planned("token", request)
            if planned is not None:
                return planned
            try:
                uuid.UUID(client_id)
            except ValueError:  # the one 400 of docs/api.md: no (usable) client id
                return JSONResponse(
                    {"code": 400, "message": "X-Client-Id missing", "data": None}, status_code=400
                )
            self.tokens += 1
            return ok({"token": f"tok{self.tokens}", "credits": 100, "expires_at": 0})

        @app.get("/api/credits/balance/simple")
        async def credits(request: Request) -> Any:
            return self._planned("credits", request) or ok(
                {"available": 7, "frozen": 0, "total": 7}
            )

        @app.post("/api/render/proxy/lambda")
        async def render(request: Request) -> Any:
            return self._planned("render", request) or ok(
                {"id": "render_1", "status": "completed", "output": {"url": "/dl/render_1"}}
            )

        @app.get("/dl/render_1")
        async def download(request: Request) -> Any:
            planned = self._planned("download", request)
            if planned is not None:
                return planned
            if self.crash_download:  # a bug answered as a crashed server does: no envelope
                return PlainTextResponse("Internal Server Error", status_code=500)
            return PlainTextResponse("1\n00:00:00,000 --> 00:00:01,000\nHello.\n")

        @app.post("/run_sse")
        async def run_sse(request: Request) -> Any:
            planned = self._planned("run_sse", request)
            if planned is not None:
                return planned

            async def events() -> Any:
                yield 'id: 1\ndata: {"content": {"parts": [{"text": "hello"}]}}\n\n'

            return StreamingResponse(events(), media_type="text/event-stream")

    def start(self) -> ScriptedBackend:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the scripted backend did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = thread
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)


@pytest.fixture
def scripted() -> Iterator[ScriptedBackend]:
    backend = ScriptedBackend().start()
    yield backend
    backend.stop()


# -- 400, 402, 500, 429, 1001 from the scripted backend -------------------------------
async def test_400_makes_a_new_client_id_and_retries(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    token_file = tmp_path / "client.json"
    TokenStore(token_file, client_id="not a client id").save()  # a damaged file's id
    async with Client(scripted.url, token_file=token_file) as api:
        assert (await api.credits())["available"] == 7
    ids = [call["id"] for call in scripted.calls["token-ids"]]
    assert ids[0] == "not a client id" and len(ids) == 2
    # The new id is this server's own; the shared one is left to the servers that took it.
    [kept] = TokenStore.load(token_file).tokens.values()
    assert kept["client_id"] == ids[1] == str(uuid.UUID(ids[1])) and kept["client_secret"]
    # Only once: a server that keeps answering 400 gets a clear error, not a loop.
    scripted.answer("token", 400)
    scripted.answer("token", 400)
    async with Client(scripted.url, token_file=tmp_path / "other.json") as api:
        with pytest.raises(BadRequest, match="scripted 400"):
            await api.credits()
    assert len(scripted.calls["token"]) == 4


async def test_402_export_refused_is_not_a_credits_problem(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    scripted.answer("render", 402)
    async with Client(scripted.url, token_file=tmp_path / "t.json", platform="tui") as api:
        with pytest.raises(ExportRefused) as refused:
            await api.export("ses_1", "srt", tmp_path / "out.srt")
    assert not isinstance(refused.value, NoCredits)
    assert (refused.value.code, refused.value.status) == (402, 402)
    [call] = scripted.calls["render"]  # asked once: a refusal is not retried
    assert (call["x-skill-source"], call["x-skill-platform"]) == ("reelscript", "tui")
    assert call["x-skill-version"]
    line = explain(refused.value.code, str(refused.value))
    assert line.startswith("Export refused") and "not about credits" in line
    assert "credits'" not in line  # no "type 'credits'" advice
    assert not (tmp_path / "out.srt").exists()


async def test_500_is_shown_and_nothing_half_written_is_kept(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    async with Client(scripted.url, token_file=tmp_path / "t.json") as api:
        scripted.answer("credits", 500)
        with pytest.raises(ServerError, match="scripted 500 on credits"):
            await api.credits()
        out = tmp_path / "exports"
        scripted.crash_download = True
        with pytest.raises(ServerError, match="HTTP 500"):  # plain-text 500, no envelope
            await api.export("ses_1", "md", out / "talk.md")
    assert list(out.iterdir()) == []  # neither the file nor its temp file
    assert explain(500, "internal error: KeyError: 'x'") == "internal error: KeyError: 'x'"


async def test_429_waits_retry_after_then_retries_once(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    async with Client(scripted.url, token_file=tmp_path / "t.json") as api:
        scripted.answer("credits", 429, **{"Retry-After": "1"})
        started = time.monotonic()
        assert (await api.credits())["available"] == 7
        assert time.monotonic() - started >= 0.95
        scripted.answer("download", 429, **{"Retry-After": "1"})  # the download too
        assert (await api.export("ses_1", "srt", tmp_path / "a.srt")).read_text()
        scripted.answer("run_sse", 429, **{"Retry-After": "1"})  # the stream too
        events = [event async for event in api.run_sse("ses_1", "hi")]
        assert [event.text for event in events] == ["hello"]
        scripted.answer("credits", 429, **{"Retry-After": "1"})
        scripted.answer("credits", 429, **{"Retry-After": "1"})
        with pytest.raises(RateLimited) as limited:
            await api.credits()
        assert limited.value.retry_after == 1
        assert len(scripted.calls["credits"]) == 2 + 2
        scripted.answer("credits", 429, **{"Retry-After": "3600"})  # too long to wait for
        started = time.monotonic()
        with pytest.raises(RateLimited):
            await api.credits()
        assert time.monotonic() - started < 1
    assert "Try again in a moment" in explain(429, "slow down")


async def test_1001_gets_a_new_token_and_retries_once(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    token_file = tmp_path / "t.json"
    async with Client(scripted.url, token_file=token_file) as api:
        await api.credits()
        assert await api.ensure_token() == "tok1"  # (from memory: no call)
        scripted.answer("credits", 1001)
        assert (await api.credits())["total"] == 7  # renewed and retried
        assert scripted.calls["credits"][-1]["authorization"] == "Bearer tok2"
        scripted.answer("run_sse", 1001)
        assert [e.text async for e in api.run_sse("ses_1", "hi")] == ["hello"]
        scripted.answer("download", 1001)  # the export's download too
        saved = await api.export("ses_1", "srt", tmp_path / "talk.srt")
        assert saved.read_text().startswith("1\n00:00:00,000")
        scripted.answer("credits", 1001)
        scripted.answer("credits", 1001)
        with pytest.raises(AuthError):  # renewed once, refused again: no loop
            await api.credits()
    assert scripted.tokens == 5
    assert TokenStore.load(token_file).tokens["scripted"]["token"] == "tok5"


# -- the codes the real backend answers -----------------------------------------------
async def test_1001_on_the_real_backend(live_server: LiveServer, tmp_path: Path) -> None:
    token_file = tmp_path / "t.json"
    async with Client(live_server.url, token_file=token_file) as api:
        await api.credits()
    store = TokenStore.load(token_file)
    with db(live_server) as conn:  # the token expired (8 days on)
        conn.execute(
            "UPDATE tokens SET created_at=created_at-?, expires_at=? WHERE client_id=?",
            (8 * 86400, time.time() - 86400, store.client_id),
        )
    async with Client(live_server.url, token_file=token_file) as api:
        assert (await api.credits())["total"] == 10000
    renewed = TokenStore.load(token_file)
    assert renewed.client_id == store.client_id and renewed.tokens != store.tokens


async def test_1002_the_app_starts_a_new_session(live_server: LiveServer, tmp_path: Path) -> None:
    connection = Connection(server=live_server.url, token_file=tmp_path / "t.json")
    try:
        first = await connection.open()
        with pytest.raises(NotFound) as missing:
            await connection.api.state("ses_not_there")
        assert (missing.value.code, missing.value.status) == (1002, 404)
        connection.session_id = "ses_not_there"  # e.g. the server's data was reset
        state = await connection.state()
        assert connection.session_id not in ("ses_not_there", first, "")
        assert state.video_infos == []
    finally:
        await connection.close()


async def test_409_keeps_both_versions(rich_client: Client, media: dict[str, Path]) -> None:
    session = (await rich_client.create_session()).session_id
    [info] = await rich_client.upload_files(session, [media["tone"]])
    script = {"video_id": info["video_id"], "revision": 0, "speakers": {}, "turns": []}
    saved = await rich_client.put_script(session, script)
    theirs = await rich_client.put_script(session, {**saved, "language": "fr"})
    mine = {**saved, "language": "de"}
    with pytest.raises(RevisionConflict) as conflict:
        await rich_client.put_script(session, mine)
    assert conflict.value.status == 409
    assert conflict.value.current_script == theirs
    assert mine["language"] == "de"  # the user's version is untouched


async def test_422_shows_the_servers_message(rich_client: Client) -> None:
    with pytest.raises(InvalidRequest) as invalid:
        await rich_client.create_session(task_name="x" * 5000)
    assert invalid.value.status == 422 and "task_name" in str(invalid.value)
    assert explain(422, str(invalid.value)).startswith("The server did not accept the request: ")


async def test_2001_shows_the_balance_and_how_to_get_more(
    client: Client, media: dict[str, Path], strict_server: LiveServer
) -> None:
    session = (await client.create_session()).session_id
    await client.upload_files(session, [media["long"]])
    with pytest.raises(NoCredits) as poor:
        [e async for e in client.run_sse(session, EXTRACT)]
    assert (poor.value.status, poor.value.data["available"]) == (402, STRICT_CREDITS)
    line = explain(poor.value.code, str(poor.value))
    assert line.startswith("Not enough credits") and f"{STRICT_CREDITS} are available" in line
    assert "'credits'" in line and "--starting-credits" in line


async def test_4001_lists_the_supported_formats(client: Client, media: dict[str, Path]) -> None:
    session = (await client.create_session()).session_id
    with pytest.raises(UnsupportedFile) as refused:
        await client.upload_files(session, [media["junk"]])
    assert refused.value.status == 415
    line = explain(refused.value.code, str(refused.value))
    assert "notes.mp4" in line and "mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac" in line.lower()


async def test_4002_suggests_trimming(
    client: Client, media: dict[str, Path], strict_server: LiveServer, tmp_path: Path
) -> None:
    session = (await client.create_session()).session_id
    with pytest.raises(FileTooLarge) as local:  # the client knows the limit: nothing is sent
        await client.upload_files(session, [media["big"]])
    assert "trim or compress" in str(local.value)
    # A client that does not know the limit sends it, and the server cuts it off: 4002.
    async with Client(strict_server.url, token_file=tmp_path / "t.json") as api:
        api._health = {"max_upload_bytes": None}
        sid = (await api.create_session()).session_id
        with pytest.raises(FileTooLarge) as remote:
            await api.upload_files(sid, [media["big"]])
    assert (remote.value.code, remote.value.status) == (4002, 413)
    assert "trim or compress" in explain(4002, str(remote.value)).lower()

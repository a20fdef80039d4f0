"""Check-then-write races between two API processes on one PostgreSQL database.

Each race sends the same kind of request to both API processes at once, many
times: credits are frozen for at most what an account has, an address gets
at most its hourly new tokens, one of two edits of the same revision wins and
the other is told 409, and one content uploaded twice at once is one file.
With the store's write lock taken out (tui/backend/store_pg.py), all four
fail: credits frozen twice (available -1), 5 of 3 tokens, a 500 from the
revision table's key instead of a 409, two files for one content.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import EXTRACT
from tests.live_server import LiveServer
from tests.team_services import FAST, Services, team_args

ROUNDS = 6
TOKENS_PER_HOUR = 3


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two API processes (no workers: jobs stay queued, their credits frozen)."""
    folder = tmp_path_factory.mktemp("races")
    services = Services()
    servers: list[LiveServer] = []
    try:
        for index in range(2):
            data = folder / f"api-{index}"
            data.mkdir()
            args = ["--starting-credits", "1", "--tokens-per-hour", str(TOKENS_PER_HOUR)]
            args += ["--auth-failures-per-minute", "0", "--trusted-proxy", "127.0.0.1"]
            servers.append(
                LiveServer(
                    data_dir=data, args=[*args, *team_args(services, folder / "storage")],
                    env={**FAST, "REELSCRIPT_STREAM_LIMIT_S": "1"},  # jobs stay queued
                ).start()
            )  # fmt: skip
        yield [s.url for s in servers]
    finally:
        for server in servers:
            server.stop()
        services.drop()


async def token(http: httpx.AsyncClient, url: str, address: str) -> httpx.Response:
    headers = {"X-Client-Id": str(uuid.uuid4()), "X-Forwarded-For": address}
    return await http.post(f"{url}/api/auth/anonymous-token", headers=headers)


async def account(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    reply = await token(http, url, f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    return {"Authorization": f"Bearer {reply.json()['data']['token']}"}


async def session_with(
    http: httpx.AsyncClient, url: str, auth: dict[str, str], media: Path
) -> tuple[str, str]:
    reply = await http.post(
        f"{url}/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "race", "language": "en"}, headers=auth,
    )  # fmt: skip
    session = reply.json()["data"]["session_id"]
    with open(media, "rb") as fh:
        files = {"files": (media.name, fh.read())}
    up = await http.post(
        f"{url}/api/upload-video/nemo_agent/me/{session}", files=files, headers=auth
    )
    return session, up.json()["data"]["files"][0]["video_id"]


async def extract(http: httpx.AsyncClient, url: str, auth: dict[str, str], session: str) -> str:
    body = {
        "app_name": "nemo_agent", "user_id": "me", "session_id": session,
        "new_message": {"role": "user", "parts": [{"text": EXTRACT}]},
    }  # fmt: skip
    reply = await http.post(f"{url}/run_sse", json=body, headers=auth)
    return reply.text


async def test_credits_are_frozen_once_across_processes(apis: list[str], data_dir: Path) -> None:
    """An account with 1 credit asks two API processes for a 1-credit job at once."""
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(ROUNDS):
            auth = await account(http, apis[0])
            one = await session_with(http, apis[0], auth, data_dir / "reading_short.wav")
            two = await session_with(http, apis[1], auth, data_dir / "reading_short.wav")
            await asyncio.gather(
                extract(http, apis[0], auth, one[0]), extract(http, apis[1], auth, two[0])
            )
            balance = (await http.get(f"{apis[1]}/api/credits/balance/simple", headers=auth)).json()
            assert balance["data"]["frozen"] == 1 and balance["data"]["available"] == 0, balance


async def test_an_address_gets_its_hourly_tokens_once_across_processes(apis: list[str]) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        for index in range(ROUNDS):
            address = f"10.9.9.{index + 1}"
            replies = await asyncio.gather(
                *(token(http, apis[i % 2], address) for i in range(4 * TOKENS_PER_HOUR))
            )
            codes = sorted(r.status_code for r in replies)
            assert codes.count(200) == TOKENS_PER_HOUR, codes


async def test_one_of_two_edits_of_a_revision_wins(apis: list[str], data_dir: Path) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        auth = await account(http, apis[0])
        session, video = await session_with(http, apis[0], auth, data_dir / "reading_short.wav")
        for revision in range(ROUNDS):

            def put(index: int, revision: int = revision) -> object:
                turn = {"speaker": "S1", "start_ms": 0, "end_ms": 900, "text": f"edit {index}"}
                body = {"script": {"video_id": video, "turns": [turn]}, "revision": revision}
                return http.put(
                    f"{apis[index]}/api/script/nemo_agent/me/{session}", json=body, headers=auth
                )

            replies = await asyncio.gather(put(0), put(1))  # type: ignore[arg-type]
            assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]


async def test_one_content_uploaded_twice_at_once_is_one_file(
    apis: list[str], data_dir: Path
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        auth = await account(http, apis[0])
        reply = await http.post(
            f"{apis[0]}/api/tasks/me/with-session/nemo_agent",
            json={"task_name": "race", "language": "en"}, headers=auth,
        )  # fmt: skip
        session = reply.json()["data"]["session_id"]
        content = (data_dir / "reading_short.wav").read_bytes()

        def upload(index: int) -> object:
            return http.post(
                f"{apis[index]}/api/upload-video/nemo_agent/me/{session}",
                files={"files": ("same.wav", content)}, headers=auth,
            )  # fmt: skip

        replies = await asyncio.gather(*(upload(i % 2) for i in range(6)))  # type: ignore[arg-type]
        ids = {r.json()["data"]["files"][0]["video_id"] for r in replies}
        state = await http.get(f"{apis[1]}/api/state/nemo_agent/me/{session}/latest", headers=auth)
        assert len(ids) == 1 and len(state.json()["data"]["state"]["video_infos"]) == 1

"""Token minting limits on a real server: per address per hour (behind a trusted proxy,
the forwarded address), bad tokens slowed, and a client that lost its token
getting a new one for the same account by proving its client id."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import auth
from tests.backend.test_errors import envelope, session
from tests.live_server import LiveServer, start_server
from tui.app.connection import explain
from tui.client.http import Client, RateLimited, TokenStore
from tui.client.local_server import start_or_reuse

PER_HOUR, BAD_PER_MINUTE = 3, 4


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own per test: each starts with the address's allowance unused."""
    server = start_server(
        tmp_path / "limited-server",
        "--starting-credits", "7",
        "--tokens-per-hour", str(PER_HOUR),
        "--auth-failures-per-minute", str(BAD_PER_MINUTE),
    )  # fmt: skip
    yield server
    server.stop()


def ask(url: str, client_id: str, secret: str | None = None, **headers: str) -> httpx.Response:
    sent = {"X-Client-Id": client_id, **headers}
    if secret:
        sent["X-Client-Secret"] = secret
    return httpx.post(f"{url}/api/auth/anonymous-token", headers=sent)


def test_new_tokens_per_address_are_limited_and_case_does_not_make_a_new_id(
    limited: LiveServer,
) -> None:
    url = limited.url
    first = str(uuid.uuid4())
    envelope(ask(url, first), 200, 0)
    # The same id in upper case is the same client: no second token, no credits.
    assert "already has a token" in envelope(ask(url, first.upper()), 429, 429)["message"]
    for _ in range(PER_HOUR - 1):
        envelope(ask(url, str(uuid.uuid4()), secrets.token_urlsafe(24)), 200, 0)
    refused = ask(url, str(uuid.uuid4()), secrets.token_urlsafe(24))
    body = envelope(refused, 429, 429)
    assert "last hour" in body["message"]
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601
    # A forwarded address is not believed from a peer that is no trusted proxy.
    spoofed = ask(url, str(uuid.uuid4()), **{"X-Forwarded-For": "203.0.113.9"})
    envelope(spoofed, 429, 429)


def test_a_client_that_lost_its_token_keeps_its_account(limited: LiveServer) -> None:
    url = limited.url
    client_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
    lost = envelope(ask(url, client_id, secret), 200, 0)["data"]["token"]
    sid = session(url, lost)  # work done with the token that is then lost
    for _ in range(PER_HOUR - 1):
        envelope(ask(url, str(uuid.uuid4())), 200, 0)
    envelope(ask(url, str(uuid.uuid4())), 429, 429)  # the address used its hour
    # Asked again with its secret (even with the address over its hourly limit):
    # a new token for the same account, with the same credits, not new ones.
    again = envelope(ask(url, client_id, secret), 200, 0)["data"]
    assert again["token"] != lost and again["credits"] == 7
    state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(again["token"]))
    envelope(state, 200, 0)
    balance = httpx.get(f"{url}/api/credits/balance/simple", headers=auth(again["token"]))
    assert envelope(balance, 200, 0)["data"]["total"] == 7
    # Without the secret, or with another, the id is not handed over.
    envelope(ask(url, client_id), 400, 400)
    envelope(ask(url, client_id, secrets.token_urlsafe(24)), 400, 400)


async def test_the_client_recovers_a_token_lost_before_it_was_stored(
    limited: LiveServer, tmp_path: Path
) -> None:
    """The app asked for a token and quit before storing the answer; on the next
    launch it gets one for the same account (sessions kept), never a 7-day 429."""
    token_file = tmp_path / "client.json"
    store = TokenStore(token_file)
    store.new_identity()
    store.save()  # what the client writes before it asks
    lost = envelope(ask(limited.url, store.client_id, store.client_secret), 200, 0)
    sid = session(limited.url, lost["data"]["token"])
    async with Client(limited.url, token_file=token_file) as api:
        assert (await api.state(sid))["jobs"] == []
        assert (await api.credits())["total"] == 7
    assert TokenStore.load(token_file).client_id == store.client_id


def test_a_rate_limit_message_never_contradicts_itself() -> None:
    line = explain(429, "this address got 3 new tokens in the last hour; retry in 3599 s")
    assert "in a moment" not in line and "3599 s" in line


def test_bad_tokens_are_slowed_per_address(limited: LiveServer) -> None:
    url = limited.url
    for _ in range(BAD_PER_MINUTE):
        bad = httpx.get(f"{url}/api/credits/balance/simple", headers=auth(secrets.token_urlsafe()))
        envelope(bad, 401, 1001)
    slowed = httpx.get(f"{url}/api/credits/balance/simple", headers=auth("guess"))
    envelope(slowed, 429, 429)
    assert 1 <= int(slowed.headers["Retry-After"]) <= 60


def test_a_trusted_proxy_forwards_the_callers_address(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "proxied",
        "--tokens-per-hour", "1",
        "--trusted-proxy", "127.0.0.0/8",
    )  # fmt: skip
    try:
        url, started = server.url, time.monotonic()
        one = {"X-Forwarded-For": "198.51.100.7, 203.0.113.5"}
        envelope(ask(url, str(uuid.uuid4()), **one), 200, 0)
        # The right-most untrusted hop counts: a client-written left part changes nothing.
        again = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
        envelope(ask(url, str(uuid.uuid4()), **again), 429, 429)
        other = {"X-Forwarded-For": "203.0.113.6"}
        envelope(ask(url, str(uuid.uuid4()), **other), 200, 0)
        assert time.monotonic() - started < 30
    finally:
        server.stop()


async def test_the_apps_own_backend_never_locks_its_user_out(tmp_path: Path) -> None:
    """Quick launches that each lose the token they asked for, and more new client ids
    than a public server's hourly limit: the embedded backend answers every one."""
    data = tmp_path / "home"
    server = start_or_reuse(data, diarizer="none")
    try:
        token_file = data / "client.json"
        for _ in range(3):  # launch, ask, quit before the answer is stored
            store = TokenStore.load(token_file)
            if not store.client_id:
                store.new_identity()
                store.save()
            envelope(ask(server.url, store.client_id, store.client_secret), 200, 0)
        async with Client(server.url, token_file=token_file, platform="tui") as api:
            assert (await api.credits())["unlimited"]
        assert TokenStore.load(token_file).client_id == store.client_id
        for _ in range(25):
            envelope(ask(server.url, str(uuid.uuid4()), secrets.token_urlsafe(24)), 200, 0)
    finally:
        server.stop()


async def test_a_refusal_by_one_server_keeps_the_identity_used_by_another(
    limited: LiveServer, live_server: LiveServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "client.json"
    async with Client(live_server.url, token_file=token_file) as api:
        sid = (await api.create_session()).session_id
    shared = TokenStore.load(token_file)
    # On the limited server someone else holds this client id (another secret): that
    # server gets an identity of its own, the shared one stays.
    envelope(ask(limited.url, shared.client_id, secrets.token_urlsafe(24)), 200, 0)
    async with Client(limited.url, token_file=token_file) as api:
        assert (await api.credits())["total"] == 7
    for _ in range(PER_HOUR - 2):
        envelope(ask(limited.url, str(uuid.uuid4())), 200, 0)
    after = TokenStore.load(token_file)
    assert after.client_id == shared.client_id and after.client_secret == shared.client_secret
    own = [t for t in after.tokens.values() if t["server"] == limited.url]
    assert own[0]["client_id"] != shared.client_id
    # An address over its limit refuses a new account: no identity is given up for it.
    other = tmp_path / "other.json"
    async with Client(limited.url, token_file=other) as api:
        with pytest.raises(RateLimited):
            await api.credits()
    refused = TokenStore.load(other)
    assert refused.client_id and refused.tokens == {}
    # The first server's account is still this client's, through a renewed token.
    async with Client(live_server.url, token_file=token_file) as api:
        await api.ensure_token(renew=True)
        assert (await api.state(sid))["jobs"] == []

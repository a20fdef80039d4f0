"""URL uploads (fetched by the server under the same limits) and multipart streaming details."""

from __future__ import annotations

import functools
import hashlib
import http.server
import resource
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.conftest import EXTRACT
from tests.live_server import LiveServer, start_server
from tui.backend import uploads
from tui.backend.errors import Invalid
from tui.client.http import ApiError, Client, FileTooLarge, InvalidRequest, UnsupportedFile


@pytest.fixture(scope="module")
def file_server(media) -> Iterator[str]:
    """A plain HTTP server on loopback serving the test media folder."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(media["tone"].parent)
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


async def test_url_upload_is_stored_like_a_multipart_one(
    client: Client, file_server: str, media, strict_server: LiveServer
) -> None:
    session = await client.create_session()
    [by_url] = await client.upload_urls(session.session_id, [f"{file_server}/tone.mp4"])
    assert by_url["name"] == "tone.mp4" and by_url["has_audio"] and by_url["duration_ms"] == 2000
    [by_part] = await client.upload_files(session.session_id, [media["tone"]])
    assert by_part["video_id"] == by_url["video_id"]  # same content: one file
    digest = hashlib.sha256(media["tone"].read_bytes()).hexdigest()
    assert (strict_server.data_dir / "media" / digest[:2] / f"{digest}.mp4").exists()


async def test_url_upload_limits_and_bad_content(
    client: Client, file_server: str, strict_server: LiveServer
) -> None:
    session = await client.create_session()
    with pytest.raises(FileTooLarge):
        await client.upload_urls(session.session_id, [f"{file_server}/big.mp4"])
    with pytest.raises(UnsupportedFile, match="notes.mp4"):
        await client.upload_urls(session.session_id, [f"{file_server}/notes.mp4"])
    with pytest.raises(InvalidRequest, match="HTTP 404"):
        await client.upload_urls(session.session_id, [f"{file_server}/missing.mp4"])
    assert list((strict_server.data_dir / "tmp").iterdir()) == []
    assert (await client.state(session.session_id))["video_infos"] == []


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own (its limits and faults touch no other test's server)."""
    server = start_server(tmp_path_factory.mktemp("own-server"), "--no-allow-private-urls")
    yield server
    server.stop()


async def test_private_addresses_refused_when_not_allowed(
    private_server: LiveServer, tmp_path: Path, file_server: str
) -> None:
    async with Client(private_server.url, token_file=tmp_path / "t.json") as api:
        session = await api.create_session()
        for url in (
            f"{file_server}/tone.mp4",
            "http://localhost:1/x.mp4",
            "http://10.0.0.1/x.mp4",
        ):
            with pytest.raises(InvalidRequest, match="private or loopback"):
                await api.upload_urls(session.session_id, [url])


async def test_a_name_that_rebinds_to_loopback_is_refused_before_the_body(
    file_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that looked public when checked but connects to loopback.

    The attacker's resolver cannot run here, so the name check is made to pass
    (as that resolver's first answer would); the connection itself is real, to
    the loopback file server.  The peer of the open connection is checked:
    refused in one line, no temp file left.
    """
    monkeypatch.setattr(uploads, "_public_address", lambda host: True)
    with pytest.raises(Invalid, match="answered from a private or loopback address"):
        await uploads.fetch_url(f"{file_server}/tone.mp4", tmp_path, 10**9, allow_private=False)
    assert list(tmp_path.iterdir()) == []
    # Allowed private addresses (the default on loopback) still fetch it whole.
    item = await uploads.fetch_url(f"{file_server}/tone.mp4", tmp_path, 10**9, allow_private=True)
    assert item.size > 0 and item.tmp.exists()


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
async def test_a_disk_that_refuses_the_upload_answers_one_line_and_keeps_nothing(
    private_server: LiveServer, tmp_path: Path, media
) -> None:
    """The server's own disk failing (here: a file-size limit on the server process, the
    same OSError as a full disk) is said in one line; no temp file, no stored file."""
    pid = private_server.process.pid if private_server.process else 0
    async with Client(private_server.url, token_file=tmp_path / "t.json") as api:
        session = await api.create_session()
        stored = sorted((private_server.data_dir / "media").rglob("*"))
        limit = media["long"].stat().st_size // 2
        old = resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        try:
            with pytest.raises(ApiError) as caught:
                await api.upload_files(session.session_id, [media["long"]])
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, old)
        assert caught.value.code == 500 and caught.value.status == 500
        message = str(caught.value)
        assert "could not store the upload" in message and "nothing was kept" in message
        assert "\n" not in message and "Traceback" not in message
        assert list((private_server.data_dir / "tmp").iterdir()) == []
        assert sorted((private_server.data_dir / "media").rglob("*")) == stored
        [info] = await api.upload_files(session.session_id, [media["long"]])  # and then works
        assert info["has_audio"]


@pytest.mark.slow
async def test_several_files_in_one_upload(client: Client, media) -> None:
    session = await client.create_session()
    reports: list[tuple[int, int]] = []
    files = await client.upload_files(
        session.session_id,
        [media["tone"], media["silent"]],
        progress=lambda n, total: reports.append((n, total)),
    )
    total = media["tone"].stat().st_size + media["silent"].stat().st_size
    assert reports[-1] == (total, total) and [n for n, _ in reports] == sorted(
        n for n, _ in reports
    )
    assert [f["name"] for f in files] == ["tone.mp4", "silent.mp4"]
    assert [f["has_audio"] for f in files] == [True, False]
    events = [e async for e in client.run_sse(session.session_id, EXTRACT + " for all files")]
    said = " ".join(e.text for e in events)
    assert "silent.mp4 has no audio stream" in said and "tone.mp4" in said

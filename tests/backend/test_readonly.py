"""A data dir that stops taking writes, on a real server: one-line 500s, reads go on,
no SIGBUS; and the API process and a worker process sharing the database at once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import EXTRACT, auth, new_token
from tests.backend.test_errors import envelope, run, session, upload
from tests.live_server import LiveServer, start_server

REPO = Path(__file__).resolve().parents[2]


def _chattr(flag: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", "-R", flag, str(folder)], capture_output=True, text=True)


@pytest.fixture
def immutable_capable(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system that has the immutable attribute (tmpfs has not: then
    one inside the repository's checkout)."""
    if shutil.which("chattr") is None:
        pytest.fail(
            "chattr is not installed (Debian package e2fsprogs): cannot make a data dir read-only"
        )
    if os.geteuid() != 0:
        pytest.fail("the read-only data dir test needs root (chattr +i), as CI runs it")
    probe = tmp_path / "probe"
    probe.mkdir()
    if _chattr("+i", probe).returncode == 0:
        _chattr("-i", probe)
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix=".readonly-test-", dir=REPO))
    try:
        yield folder
    finally:
        _chattr("-i", folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_data_dir_that_refuses_writes_answers_one_line_500s_and_keeps_reading(
    immutable_capable: Path, media
) -> None:
    server = start_server(immutable_capable / "data")
    data = server.data_dir
    try:
        url, token = server.url, new_token(server.url)
        sid = session(url, token)
        envelope(upload(url, token, sid, media["tone"]), 200, 0)
        locked = _chattr("+i", data)
        assert locked.returncode == 0, locked.stderr
        _chattr("-i", data / "test-server.log")  # the test's own record of the server's log
        try:
            for _ in range(3):
                for response in (
                    httpx.post(
                        f"{url}/api/tasks/me/with-session/nemo_agent", json={}, headers=auth(token)
                    ),
                    run(url, token, sid, "status"),
                ):
                    assert "data dir cannot be written" in envelope(response, 500, 500)["message"]
                state = httpx.get(
                    f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)
                )
                assert len(envelope(state, 200, 0)["data"]["state"]["video_infos"]) == 1
                envelope(
                    httpx.get(f"{url}/api/credits/balance/simple", headers=auth(token)), 200, 0
                )
            assert server.process is not None and server.process.poll() is None  # no SIGBUS
        finally:
            _chattr("-i", data)
        envelope(
            httpx.post(f"{url}/api/tasks/me/with-session/nemo_agent", json={}, headers=auth(token)),
            200,
            0,
        )
        log = server.log
        assert "Traceback" not in log and "the data dir refused" in log
    finally:
        _chattr("-i", data)
        server.stop()
    assert server.process.returncode == 0, server.log[-2000:]


@pytest.mark.slow
def test_the_api_and_a_worker_write_the_database_at_once(
    live_server: LiveServer, media, tmp_path: Path
) -> None:
    """A real job (its worker process writes progress and the script) while eight API
    threads write sessions and scripts: every write lands, nobody waits it out."""
    url, token = live_server.url, new_token(live_server.url)
    sid = session(url, token)
    video_id = envelope(upload(url, token, sid, media["tone"]), 200, 0)["data"]["files"][0][
        "video_id"
    ]
    job = threading.Thread(target=lambda: results.append(run(url, token, sid, EXTRACT)))
    results: list[httpx.Response] = []
    failures: list[str] = []
    made: list[str] = []

    def writer() -> None:
        other = session(url, token)
        for _ in range(15):
            response = httpx.post(
                f"{url}/api/tasks/me/with-session/nemo_agent", json={}, headers=auth(token)
            )
            if response.status_code != 200:
                failures.append(response.text)
            else:
                made.append(response.json()["data"]["session_id"])
            status = httpx.get(f"{url}/api/state/nemo_agent/me/{other}/latest", headers=auth(token))
            if status.status_code != 200:
                failures.append(status.text)

    job.start()
    writers = [threading.Thread(target=writer) for _ in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    job.join(300)
    assert failures == [] and len(made) == 8 * 15
    assert results and results[0].status_code == 200
    state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()
    jobs = state["data"]["state"]["jobs"]
    assert [j["status"] for j in jobs] == ["completed"], jobs
    assert video_id in state["data"]["state"]["scripts"]


def remove(folder: Path) -> None:
    """``rm -rf`` of a data dir in use: the workers' polling transactions can make the
    database's journal again while the tree is removed (as they would under a user's
    ``rm -rf``, which then says "Directory not empty"), so remove until it is gone."""
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
    raise AssertionError(f"{folder} could not be removed")


def test_a_data_dir_removed_under_the_server_answers_500s_and_keeps_reading(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "data")
    try:
        url, token = server.url, new_token(server.url)
        sid = session(url, token)
        remove(server.data_dir)  # its open database stays readable; nothing new lands
        for _ in range(3):
            made = httpx.post(
                f"{url}/api/tasks/me/with-session/nemo_agent", json={}, headers=auth(token)
            )
            assert "data dir cannot be written" in envelope(made, 500, 500)["message"]
            state = httpx.get(f"{url}/api/state/nemo_agent/me/{sid}/latest", headers=auth(token))
            envelope(state, 200, 0)
        assert server.process is not None and server.process.poll() is None
    finally:
        server.stop()
    assert server.process.returncode == 0


def test_a_thread_that_first_reads_after_the_data_dir_is_gone_reads_the_open_database(
    tmp_path: Path,
) -> None:
    """The server opens one connection per thread; a thread that starts after the data
    dir was removed (and a folder of that name made again) must neither fail nor find a
    new empty database where the old one was."""
    from tui.backend.store import Store

    store = Store(tmp_path / "data")
    with store.tx() as db:
        db.execute(
            "INSERT INTO tokens (hash, client_id, created_at, expires_at)"
            " VALUES ('h', 'c', 0, 9999999999)"
        )
    shutil.rmtree(tmp_path / "data")
    (tmp_path / "data").mkdir()  # as a later write's folder making could
    seen: list[object] = []

    def read() -> None:
        try:
            with store.snapshot() as db:
                seen.append(db.execute("SELECT count(*) FROM tokens").fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            seen.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1, 1, 1, 1]
    assert not (tmp_path / "data" / "reelscript.db").exists()


def test_a_worker_starting_after_the_data_dir_is_gone_stops_and_makes_no_new_database(
    tmp_path: Path,
) -> None:
    """A worker process started late (after the data dir was removed under the server)
    must not make the data dir and a database again: SQLite finds journals by path, so
    the server's connections would take that new database's first journal for their own
    and roll it back into the file they still have open, emptying it."""
    from tui.backend.store import Store

    data = tmp_path / "data"
    store = Store(data)
    with store.tx() as db:
        db.execute(
            "INSERT INTO tokens (hash, client_id, created_at, expires_at)"
            " VALUES ('h', 'c', 0, 9999999999)"
        )
    shutil.rmtree(data)
    code = (
        "import os, sys; from tui.backend.worker import worker_main; "
        "worker_main(sys.argv[1], None, os.getppid(), 1 << 20)"
    )
    worker = subprocess.run(
        [sys.executable, "-c", code, str(data)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert worker.returncode == 1, worker.stderr
    assert "cannot open the data dir" in worker.stderr and "Traceback" not in worker.stderr
    assert not data.exists()
    with store.snapshot() as db:
        assert db.execute("SELECT count(*) FROM tokens").fetchone()[0] == 1
    with pytest.raises(sqlite3.OperationalError, match="removed or replaced"):
        with store.tx() as db:
            db.execute("DELETE FROM tokens")


def test_a_write_after_the_database_file_was_replaced_is_refused(tmp_path: Path) -> None:
    """A data dir removed and made again (another server started on it): the old store's
    writes are refused rather than landing in the removed file or the new one's journal."""
    from tui.backend.store import Store

    old = Store(tmp_path / "data")
    shutil.rmtree(tmp_path / "data")
    new = Store(tmp_path / "data")
    with pytest.raises(sqlite3.OperationalError, match="removed or replaced"):
        with old.tx() as db:
            db.execute("INSERT INTO meta VALUES ('k', 'v')")
    with new.tx() as db:
        db.execute("INSERT INTO meta VALUES ('k', 'v')")
    with new.snapshot() as db:
        assert db.execute("SELECT value FROM meta WHERE key='k'").fetchone()[0] == "v"

"""Team-mode test services: fresh PostgreSQL databases, Redis namespaces, API and worker processes.

PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and Redis
(127.0.0.1:6379) must be running; where one is not, the test fails with one
line naming it (``docker compose up -d db queue`` starts both).  Every test
server gets a database and a Redis key namespace of its own, removed at stop.

``pytest --team`` runs the backend tests against a team backend: each
:func:`tests.live_server.start_server` then starts ``reelscript serve
--database --queue --storage`` with one ``reelscript worker``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import processes

PG_ADMIN = os.environ.get("REELSCRIPT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("REELSCRIPT_TEST_REDIS", "redis://127.0.0.1:6379/0")
#: Short leases so takeovers happen within a test (production: 30 s and 5 s).
FAST = {"REELSCRIPT_LEASE_S": "2", "REELSCRIPT_SWEEP_S": "0.5"}


def require_services() -> None:
    import psycopg
    import redis

    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.Error:
        pytest.fail(f"PostgreSQL is not running at {PG_ADMIN} (docker compose up -d db)", False)
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError:
        pytest.fail(f"Redis is not running at {REDIS} (docker compose up -d queue)", False)


@dataclass
class Services:
    """One database and one Redis namespace of a test; :meth:`drop` removes both."""

    name: str = field(default_factory=lambda: f"rs_test_{uuid.uuid4().hex[:10]}")

    def __post_init__(self) -> None:
        import psycopg

        require_services()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")

    @property
    def database(self) -> str:
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name

    @property
    def queue(self) -> str:
        return f"{REDIS}?namespace={self.name}"

    def drop(self) -> None:
        import psycopg
        import redis

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{self.name}:*"):
            client.delete(key)


class TestDb:
    """A team server's database as tests read it: the store's portable SQL, rows by name."""

    def __init__(self, url: str) -> None:
        from tui.backend.store_pg import PgConnection

        self.conn = PgConnection(url)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def team_args(services: Services, storage: Path) -> list[str]:
    return ["--database", services.database, "--queue", services.queue, "--storage", str(storage)]


@dataclass
class Worker:
    """A ``reelscript worker`` process."""

    args: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = {**os.environ, **FAST, **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tui.cli", "worker", *self.args],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        processes.kill(self.process)

    def stop(self) -> None:
        processes.stop(self.process, signal.SIGTERM)


def wait_workers(url: str, count: int, timeout: float = 120.0) -> None:
    """Until ``/api/health`` counts ``count`` live workers (models loaded take a while)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=5).json()["data"]["workers"] >= count:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{count} worker(s) did not come up within {timeout} s")


def start_team_server(data_dir: Path, args: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    """A team backend in place of a laptop one: database, queue, one API, one worker."""
    from tests.live_server import LiveServer

    services = Services()
    shared = team_args(services, data_dir)  # the data dir is the storage root, as on a laptop
    worker_args = [*shared]
    if "--diarizer" in args:
        worker_args += ["--diarizer", args[args.index("--diarizer") + 1]]
    if "--max-upload-mb" in args:
        worker_args += ["--max-upload-mb", args[args.index("--max-upload-mb") + 1]]
    worker = Worker(worker_args, data_dir / "test-worker.log", env=dict(env)).start()
    server = LiveServer(data_dir=data_dir, args=[*args, *shared], env={**FAST, **env})
    try:
        server.start()
        wait_workers(server.url, 1)
    except BaseException:
        worker.stop()
        server.stop()
        services.drop()
        raise
    stop = server.stop

    def stop_all() -> None:
        stop()
        worker.stop()
        services.drop()

    server.stop = stop_all  # type: ignore[method-assign]
    server.team = (services, [worker])  # type: ignore[attr-defined]
    return server

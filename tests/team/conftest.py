"""A team on loopback: one database, one queue, one storage root, two API processes, two workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.live_server import NO_ADDRESS_LIMITS, LiveServer
from tests.team_services import FAST, Services, Worker, team_args, wait_workers

ADMIN = "admin-secret-for-tests"


@dataclass
class Team:
    services: Services
    storage: Path
    apis: list[LiveServer]
    workers: list[Worker]
    folder: Path

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.services.database, autocommit=True) as conn:
            return conn.execute(query, args).fetchall()

    def admin(self, api: int = 0) -> list[dict[str, Any]]:
        reply = httpx.get(
            f"{self.apis[api].url}/api/admin/workers",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        return reply.json()["data"]["workers"]  # type: ignore[no-any-return]

    def worker_running(self, job_id: str, timeout: float = 60.0) -> Worker:
        """The worker process that runs ``job_id`` (once it runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [(status, node)] = self.sql("SELECT status, worker FROM jobs WHERE id=%s", job_id)
            if status == "running" and node:
                [(pid,)] = self.sql("SELECT pid FROM nodes WHERE id=%s", node)
                return next(w for w in self.workers if w.pid == pid)
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not start running")

    def wait_job(self, job_id: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [(status,)] = self.sql("SELECT status FROM jobs WHERE id=%s", job_id)
            if status in ("completed", "failed", "cancelled"):
                return str(status)
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish")

    def api_server(self, index: int, **env: str) -> LiveServer:
        args = ["--starting-credits", "10000", "--admin-token", ADMIN]
        args += [item for pair in NO_ADDRESS_LIMITS.items() for item in pair]
        data = self.folder / f"api-{index}"
        data.mkdir(exist_ok=True)
        server = LiveServer(
            data_dir=data,
            args=[*args, *team_args(self.services, self.storage)],
            env={**FAST, **env},
        )
        return server.start()

    def ensure_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.process is None or worker.process.poll() is not None:
                self.workers[index] = Worker(worker.args, worker.log_path).start()
        wait_workers(self.apis[0].url, len(self.workers))


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("team")
    services = Services()
    storage = folder / "storage"
    workers = [
        Worker(team_args(services, storage), folder / f"worker-{i}.log").start() for i in range(2)
    ]
    crew = Team(services, storage, [], workers, folder)
    try:
        crew.apis = [crew.api_server(0), crew.api_server(1)]
        wait_workers(crew.apis[0].url, 2)
        yield crew
    finally:
        for api in crew.apis:
            api.stop()
        for worker in crew.workers:
            worker.stop()
        services.drop()


@pytest.fixture
def crew(team: Team) -> Team:
    """The team with both workers alive (a test before may have killed them)."""
    team.ensure_workers()
    return team

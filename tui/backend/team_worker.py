"""``reelscript worker``: a team's job worker on Dramatiq, PostgreSQL and shared storage.

One process, one job at a time (one Dramatiq thread, prefetch 1), the model
loaded once at start and kept across jobs (no fork per job).  A message names
a job; :func:`leases.take` decides whether it runs here (a duplicate or a job
another worker holds does nothing).  A heartbeat thread renews the running
job's lease and the worker's own sign of life (``nodes``); a job whose lease
this worker lost (taken over, or cancelled) is stopped at its next check.
The job itself runs through :func:`tui.backend.worker.run`, as on a laptop.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tui.backend import leases, worker
from tui.backend.dispatch import QUEUE, broker, declare
from tui.backend.store_pg import PgStore

log = logging.getLogger("reelscript.worker")


class TeamWorker:
    """The state of one ``reelscript worker`` process."""

    def __init__(self, database: str, queue: str, storage: Path, **settings: Any) -> None:
        self.store = PgStore(database, storage)
        self.queue_url = queue
        self.model: str | None = settings.get("model")
        self.device = str(settings.get("device") or "cpu")
        self.diarizer = str(settings.get("diarizer") or "builtin")
        self.max_bytes = int(settings.get("max_bytes") or 500 * 1024 * 1024)
        self.lease_s = float(settings.get("lease_s") or 30.0)
        self.node = ""
        self.current: tuple[str, str] | None = None  # (job id, claim) while one runs
        self.stop = threading.Event()

    def run_job(self, job_id: str) -> None:
        """The actor: take the job if it is ours to run, run it to its end."""
        job = leases.take(self.store, job_id, self.node, self.lease_s)
        if job is None:
            log.info("message for %s: nothing to run (finished, or held by a live worker)", job_id)
            return
        log.info("job %s: attempt %s", job_id, job["attempts"])
        self.current = (job_id, job["claim"])
        try:
            worker.run(self.store, job, self.model, self.max_bytes, self.diarizer)
        finally:
            self.current = None
            leases.beat(self.store, self.node, None, done=True)

    def _heartbeat(self) -> None:
        store = PgStore(self.store.url, self.store.data_dir)
        every = max(0.2, self.lease_s / 3)
        while not self.stop.wait(every):
            try:
                current = self.current
                if current is not None:
                    leases.renew(store, current[0], current[1], self.lease_s)
                leases.beat(store, self.node, current[0] if current else None)
            except Exception as exc:  # the database away for a moment: try again
                log.warning("heartbeat failed: %s", exc)

    def serve(self) -> int:
        import dramatiq

        model_label = self.model or "tiny.en (bundled)"
        redis = broker(self.queue_url, heartbeat_s=self.lease_s)
        redis.client.ping()  # a queue that does not answer: one line, before the model loads
        worker._preload(self.model, self.diarizer)
        # Counted by /api/health from here on: the model is loaded.
        self.node = leases.register(self.store, "worker", self.device, model_label)
        declare(redis, self.run_job)
        threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat").start()
        consumer = dramatiq.Worker(redis, queues={QUEUE}, worker_threads=1, worker_timeout=500)
        consumer.queue_prefetch = 1  # one job at a time: never hold a second one's message
        consumer.start()
        print(f"reelscript worker {self.node} ({self.device}, {model_label})", flush=True)
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
        self.stop.set()
        consumer.stop(timeout=5000)
        leases.leave(self.store, self.node)
        return 0


def main(database: str, queue: str, storage: Path, **settings: Any) -> int:
    import psycopg
    import redis

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        return TeamWorker(database, queue, storage, **settings).serve()
    except (psycopg.OperationalError, redis.ConnectionError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1

"""Jobs on a distributed queue: Dramatiq on Redis carries job ids to ``reelscript worker``.

The database stays the truth (status, attempts, leases, credits); a message
only says "job X may be ready".  A message is sent once the transaction that
queued its job has committed (:meth:`Store.queued`), its Redis id is kept on
the job, and the sweeper (:mod:`tui.backend.leases`) sends a new one for a
queued job whose message the broker no longer holds (the API died between
commit and send, or Redis was restarted).  Dramatiq's own retries are off:
attempts are counted in the database.

The queue URL is Redis's (``redis://host:6379/0``); ``?namespace=NAME`` keeps
several installations (or test runs) apart on one Redis.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from tui.backend.store import Store

log = logging.getLogger("reelscript.dispatch")
QUEUE, ACTOR = "jobs", "run_job"
#: Tests only: the API process dies right after the commit that queued a job, before
#: its message is sent (the case the sweeper exists for).
DIE_BEFORE_SEND = "REELSCRIPT_TEST_DIE_BEFORE_SEND"


def broker(url: str, heartbeat_s: float = 60.0) -> RedisBroker:
    """A Redis broker without Dramatiq's middleware (no retries, no time limit)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"the queue must be a redis:// URL, not {url!r}")
    query = parse_qs(parts.query)
    namespace = (query.pop("namespace", None) or ["reelscript"])[0]
    plain = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return RedisBroker(
        url=plain,
        namespace=namespace,
        middleware=[],
        heartbeat_timeout=int(heartbeat_s * 1000),
        # One command in ten runs the broker's maintenance (requeueing the messages of
        # dead workers): redelivery follows worker heartbeats, not job length.
        maintenance_chance=100_000,
    )


def declare(redis: RedisBroker, run: Callable[[str], None]) -> dramatiq.Actor:  # type: ignore[type-arg]
    """The one actor: ``run(job_id)``."""
    return dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, broker=redis)(run)


class Dispatcher:
    """Sends job ids; installed as ``store.dispatch`` in the API processes."""

    def __init__(self, store: Store, url: str) -> None:
        self.store = store
        self.redis = broker(url)
        self.actor = declare(self.redis, lambda job_id: None)

    def send(self, job_id: str) -> None:
        if os.environ.get(DIE_BEFORE_SEND):
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            message = self.redis.enqueue(self.actor.message(job_id))
        except Exception as exc:  # the sweeper sends it again once the queue answers
            log.error("could not queue job %s: %s", job_id, exc)
            return
        self.store.db.execute(
            "UPDATE jobs SET message_id=? WHERE id=?", (message.options["redis_message_id"], job_id)
        )

    def holds(self, message_id: str | None) -> bool:
        """Whether the broker still holds this message (queued, or fetched and not acked)."""
        if not message_id:
            return False
        key = f"{self.redis.namespace}:{QUEUE}.msgs"
        return bool(self.redis.client.hexists(key, message_id))

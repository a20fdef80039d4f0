"""One job flow for the app and the folder watcher: ask for a script, follow its job to the end.

A ``/run_sse`` stream lasts 15 minutes at most (docs/api.md) while a long
video's job may take longer, so a request is followed in two steps: its
stream's events (:meth:`JobRequest.events`), then, once the stream has
ended, the session state until every job of the request has finished
(:meth:`JobRequest.outcome`).  Both the app and the watcher ask with the
same words (:func:`extract_prompt`).  No UI here: the caller turns events
and job progress into what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.client.types import Event, Job, SessionState

if TYPE_CHECKING:
    from tui.client.http import Client

#: What asking for a file's script says (docs/api.md's first example).
EXTRACT_PROMPT = "extract a full written script from this video with speaker labels"

#: How often the session state is read while a job outlives its stream (seconds).
STATE_POLL_S = 1.0


def extract_prompt(name: str | None = None) -> str:
    """The request that scripts a file; ``name`` says which one in a session of several."""
    return f"{EXTRACT_PROMPT} ({name})" if name else EXTRACT_PROMPT


@dataclass
class Outcome:
    """A request that has ended: the session state then, and the request's jobs in it."""

    state: SessionState
    jobs: list[Job]
    #: The agent's whole text events, in order.
    said: list[str] = field(default_factory=list)


@dataclass
class JobRequest:
    """One request to ``/run_sse`` and the jobs it starts.

    ``video_ids`` narrows the request's jobs to those files' (else every new
    job is the request's); ``known`` are job ids that were there before (earlier
    requests'), never taken for this one's.
    """

    api: Client
    session_id: str
    text: str
    video_ids: frozenset[str] | None = None
    known: frozenset[str] = frozenset()
    if_edited: str | None = None
    poll_s: float = STATE_POLL_S
    #: The request's job ids seen so far (in progress events or the state).
    job_ids: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    async def events(self) -> AsyncIterator[Event]:
        """The stream's events, as they come, until the stream ends (done or cut off)."""
        async for event in self.api.run_sse(self.session_id, self.text, if_edited=self.if_edited):
            if event.kind == "progress" and event.job_id:
                self._saw(event.job_id)
            elif event.kind == "message" and event.text and not event.partial:
                self.said.append(event.text.strip())
            yield event

    def jobs_in(self, state: SessionState) -> list[Job]:
        """This request's jobs in ``state``."""
        return [
            job
            for job in state.jobs
            if job.id not in self.known
            and (self.video_ids is None or job.video_id in self.video_ids)
        ]

    async def outcome(self, on_job: Callable[[Job], None] | None = None) -> Outcome:
        """The session state once every job of the request has finished.

        A stream ends when its jobs have, or at its time limit with them still
        queued or running: then the state is read every ``poll_s`` until they end,
        each unfinished job passed to ``on_job`` as it stands.
        """
        state = await self.api.session_state(self.session_id)
        while True:
            jobs = self.jobs_in(state)
            for job in jobs:
                self._saw(job.id)
            busy = [job for job in jobs if job.busy]
            if not busy:
                return Outcome(state, jobs, list(self.said))
            if on_job is not None:
                for job in busy:
                    on_job(job)
            await asyncio.sleep(self.poll_s)
            state = await self.api.session_state(self.session_id)

    def _saw(self, job_id: str) -> None:
        if job_id not in self.job_ids and job_id not in self.known:
            self.job_ids.append(job_id)


async def follow_jobs(
    api: Client,
    session_id: str,
    job_ids: Iterable[str],
    on_end: Callable[[list[Job], SessionState], None],
    poll_s: float = STATE_POLL_S,
) -> None:
    """Read the session state until each of ``job_ids`` has ended (jobs of an earlier
    run, whose streams are gone); ``on_end`` hears of the jobs that ended at each read."""
    waiting = set(job_ids)
    while waiting:
        await asyncio.sleep(poll_s)
        state = await api.session_state(session_id)
        ended = [job for job in state.jobs if job.id in waiting and not job.busy]
        for job in ended:
            waiting.discard(job.id)
        if ended:
            on_end(ended, state)

"""One video through the backend: upload, script it via ``/run_sse``, export and download.

Only :mod:`tui.client.http` talks HTTP, and :mod:`tui.client.flow` follows a
request's job to its end (the app's flow too); this module strings them together
for the watcher and turns every way a video can fail into one
:class:`VideoFailed` with a one-line reason, marked *permanent* when the
video itself is at fault (so the ledger remembers it) or not (server down,
out of credits: worth trying again later).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.client.flow import JobRequest
from tui.client.http import ApiError, Client, ServerError
from tui.client.types import Job, VideoInfo

#: API codes that mean "this file cannot be scripted" rather than "try again later".
FILE_FAULT_CODES = frozenset({4001, 4002, 422})

#: How often a job is polled once its event stream has ended (seconds).
STATE_POLL_S = 2.0

Progress = Callable[[str, float, "float | None"], None]


class VideoFailed(Exception):
    """A video could not be scripted; ``str()`` is the reason for the user."""

    def __init__(self, reason: str, code: int | None = None, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.permanent = permanent


def _failed(error: ApiError, path: Path) -> VideoFailed:
    return VideoFailed(
        _without_name(error.message, path), error.code, permanent=error.code in FILE_FAULT_CODES
    )


def _without_name(message: str, path: Path) -> str:
    """``"talk.mp4: no audio"`` -> ``"no audio"``: every line already names the file."""
    prefix = f"{path.name}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


async def script_video(
    client: Client,
    path: Path,
    destinations: dict[str, Path],
    *,
    language: str,
    prompt: str,
    progress: Progress,
    existing: tuple[str, str] | None = None,
    picture: dict[str, str] | None = None,
) -> tuple[list[str], set[str], tuple[str, str]]:
    """Script ``path`` and download each format's export to ``destinations[fmt]``.

    Returns notes for the user (no speech found, a format whose export
    failed), the formats that failed, and where the script is (session id,
    video id); raises :class:`VideoFailed` when there is no script, or no
    format could be exported.  One API session per video, so that each
    request names its file without doubt.  ``existing`` (session id, video
    id) is a script the user already has (and may have edited): it is
    exported as it is, never made again.  ``picture`` (``resolution``, ``fit``) is
    how a ``captioned`` export is framed.
    """
    if existing is not None:
        session_id, video_id = existing
        notes = ["written from the script you have in the app"]
    else:
        session_id, video_id, script = await _upload_and_extract(
            client, path, language=language, prompt=prompt, progress=progress
        )
        notes = [] if script.get("turns") else ["no speech was found: the script is empty"]
    failed: set[str] = set()
    for done, (fmt, dest) in enumerate(destinations.items()):
        progress("exporting", done / len(destinations), None)

        def rendering(status: dict[str, Any], done: int = done) -> None:
            share = float(status.get("progress") or 0.0)
            progress("exporting", (done + share) / len(destinations), status.get("eta_s"))

        framing = (picture or {}) if fmt == "captioned" else {}
        try:
            await client.export(
                session_id,
                fmt,
                dest,
                video_id=video_id,
                resolution=framing.get("resolution"),
                fit=framing.get("fit"),
                on_progress=rendering,
            )
        except ServerError as error:  # this format could not be made: keep the others
            failed.add(fmt)
            notes.append(f"no {fmt}: {_without_name(error.message, path)}")
        except ApiError as error:  # backend gone, rate limited: the whole video again later
            raise VideoFailed(f"export failed: {error.message}", error.code, False) from None
    if failed == set(destinations):
        raise VideoFailed("; ".join(notes[-len(failed) :]), 500, permanent=True)
    progress("exporting", 1.0, None)
    return notes, failed, (session_id, video_id)


async def _upload_and_extract(
    client: Client, path: Path, *, language: str, prompt: str, progress: Progress
) -> tuple[str, str, dict[str, Any]]:
    """A new session with ``path`` uploaded and scripted: (session id, video id, script)."""
    try:
        session = await client.create_session(language=language)
        [raw] = await client.upload_files(
            session.session_id,
            [path],
            progress=lambda sent, total: progress("uploading", sent / max(total, 1), None),
        )
    except ApiError as error:
        raise _failed(error, path) from None
    info = VideoInfo.from_dict(raw)
    if info.has_audio is False:
        raise VideoFailed("it has no audio stream, so there is nothing to script", 4001)
    progress("uploading", 1.0, None)
    script = await _extract(client, path, session.session_id, info.video_id, prompt, progress)
    return session.session_id, info.video_id, script


async def _extract(
    client: Client, path: Path, session_id: str, video_id: str, prompt: str, progress: Progress
) -> dict[str, Any]:
    """Ask ``/run_sse`` for the script and follow its job to the end; returns the script.

    The stream lasts 15 minutes at most (docs/api.md) while a long video's job
    may take longer: :class:`tui.client.flow.JobRequest` follows it through the
    session state once the stream has ended.
    """
    request = JobRequest(
        client, session_id, prompt, video_ids=frozenset({video_id}), poll_s=STATE_POLL_S
    )

    def standing(job: Job) -> None:
        progress(job.stage or job.status, job.progress, None)

    try:
        async for event in request.events():
            if event.kind == "progress":
                progress(event.stage or "working", event.progress, event.eta_s)
        outcome = await request.outcome(standing)
    except ApiError as error:
        raise _failed(error, path) from None
    except asyncio.CancelledError:
        # Stopping the watcher: the job would go on server-side, so cancel it (briefly).
        for job_id in request.job_ids:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.cancel_job(job_id), 3)
        raise
    script = outcome.state.scripts.get(video_id)
    if script:
        return dict(script)
    failed = [j for j in outcome.jobs if j.status in ("failed", "cancelled")]
    if failed:
        job = failed[-1]
        reason = job.error or f"the job was {job.status}"
        raise VideoFailed(
            _without_name(reason, path),
            job.error_code,
            permanent=job.error_code in FILE_FAULT_CODES,
        )
    last = outcome.said[-1] if outcome.said else "the backend made no script and gave no reason"
    raise VideoFailed(f"no script was made: {last}", None, permanent=False)

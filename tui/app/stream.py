"""From the wire to the app: SSE events to log messages, and state summaries.

:func:`event_messages` turns one event of ``/run_sse`` (docs/api.md) into the
app's messages; :func:`summarise` says in a line or two what changed between
two session states, for a stream that ended without any text;
:func:`describe_state`, :func:`job_outcome` and :func:`file_badge` put a
session and its jobs in the user's words and badges.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from textual.message import Message

from tui.app.messages import (
    ChoiceNeeded,
    ExportReady,
    Heartbeat,
    JobProgress,
    LogLine,
    SpeakerRenamed,
)
from tui.client.types import Event, Job, SessionState
from tui.engine.writing import plural


def _short(value: Any, limit: int = 80) -> str:
    """A value in one short line; a result dict as its plain fields (ids left out)."""
    if isinstance(value, dict) and value:
        fields = [
            f"{key}={item}"
            for key, item in value.items()
            if not isinstance(item, (dict, list)) and not str(key).endswith("id")
        ]
        text = ", ".join(fields) if fields else json.dumps(value, ensure_ascii=False)
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_messages(event: Event, at: datetime) -> tuple[list[Message], bool]:
    """The app messages for one SSE event, and whether it carried agent text."""
    if event.kind == "heartbeat":
        return [Heartbeat(at)], False
    if event.kind == "progress" and isinstance(event.data, dict):
        return [JobProgress(event.job_id, event.stage, event.progress, event.eta_s, at)], False
    if event.kind == "error":
        return [LogLine("error", _short(event.message, 200), at)], False
    if not isinstance(event.data, dict):
        return [LogLine("info", _short(event.data), at)], False
    out: list[Message] = []
    had_text = False
    if event.partial:
        return out, False  # the final, whole event follows; partials would repeat it
    # An export's own text names its download URL: the app says where it saved the file
    # instead, so that text is a raw line (shown in verbose mode).
    exported = any(
        r.get("name") == "export" and (r.get("response") or {}).get("url")
        for r in event.function_responses
    )
    for part in event.parts:
        if part.get("text"):
            had_text = True
            out.append(LogLine("result" if exported else "text", str(part["text"]).strip(), at))
        elif part.get("function_call"):
            call = part["function_call"]
            out.append(
                LogLine("call", f"{call.get('name')}({_short(call.get('args') or {}, 60)})", at)
            )
        elif part.get("function_response"):
            response = part["function_response"]
            out.append(
                LogLine("result", f"{response.get('name')}: {_short(response.get('response'))}", at)
            )
            result = response.get("response") or {}
            if result.get("status") == "needs_choice":
                out.append(ChoiceNeeded(list(result.get("edited") or [])))
            if response.get("name") == "export" and result.get("url"):
                out.append(ExportReady(str(result.get("format") or "md"), str(result["url"])))
            renamed = [str(result.get(key) or "") for key in ("video_id", "speaker", "name")]
            if response.get("name") == "rename" and result.get("status") == "ok" and all(renamed):
                out.append(SpeakerRenamed(*renamed))
    return out, had_text


def summarise(before: SessionState | None, after: SessionState) -> list[str]:
    """What changed in the session, in words (used when a stream ends without text)."""
    before = before or SessionState()
    lines: list[str] = []
    old_jobs = {j.id: j for j in before.jobs}
    for job in after.jobs:
        old = old_jobs.get(job.id)
        if old is None or old.status != job.status:
            detail = f": {job.error}" if job.error else ""
            lines.append(f"{after.name_of(job.video_id)}: {_job_words(job)}{detail}")
    script, old_script = after.script or {}, before.script or {}
    if script and (script.get("revision"), script.get("video_id")) != (
        old_script.get("revision"),
        old_script.get("video_id"),
    ):
        lines.append(f"{after.name_of(script.get('video_id'))}: {script_words(script)}")
    old_media = {m.get("id") for m in before.generated_media}
    for media in after.generated_media:
        if media.get("id") not in old_media:
            lines.append(f"{media.get('format')} export ready")
    return lines or ["nothing changed in the session"]


def script_words(script: dict[str, Any]) -> str:
    """``script revision 5: 12 turns, 3 speakers (Diane, Bo, Speaker 3)``."""
    speakers = script.get("speakers") or {}
    names = f" ({', '.join(speakers.values())})" if speakers else ""
    return (
        f"script revision {script.get('revision')}: "
        f"{plural(len(script.get('turns') or []), 'turn')}, "
        f"{plural(len(speakers), 'speaker')}{names}"
    )


_STATUS_WORDS = {
    "queued": "waiting its turn",
    "running": "working",
    "completed": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _job_words(job: Job) -> str:
    """``transcribing 40%``, ``script done``, ``translation failed`` ..."""
    what = "translation" if job.kind == "translate" else "script"
    if job.status == "running" and job.stage:
        return f"{what}: {job.stage} {job.progress:.0%}"
    return f"{what} {_STATUS_WORDS.get(job.status, job.status)}"


def describe_state(state: SessionState) -> list[str]:
    """The session's files, jobs and script, a line each (the ``status`` command)."""
    lines = []
    for info in state.video_infos:
        jobs = state.jobs_of(info.video_id)
        seconds = round(info.duration_ms / 1000)
        line = f"{info.name} ({seconds // 60}:{seconds % 60:02d})"
        if jobs:
            line += f": {_job_words(jobs[-1])}"
        lines.append(line)
    if state.script:
        name = state.name_of(state.script.get("video_id"))
        lines.append(f"shown: {name}, {script_words(state.script)}")
    return lines or ["the session is empty: pick a file and press Enter"]


def file_badge(jobs: list[Job], state: SessionState, video_id: str | None) -> str:
    """A file's badge after a request: done, cancelled or failed by its new jobs; with no
    new job (its edited script kept), done when it has a script, else new."""
    statuses = {j.status for j in jobs}
    if "completed" in statuses:
        return "done"
    if "cancelled" in statuses:
        return "cancelled"
    if statuses:
        return "failed"
    return "done" if video_id in state.scripts else "new"


def job_outcome(name: str, job: Job, state: SessionState) -> str:
    """One line for a finished job: "panel.mov: script ready, 3 speakers", or why not."""
    if job.status == "completed":
        script = state.scripts.get(job.video_id) or {}
        speakers = len({t.get("speaker") for t in script.get("turns") or []})
        return f"{name}: script ready, {plural(speakers, 'speaker')}"
    if job.status == "cancelled":
        return f"{name}: cancelled"
    return f"{name}: failed: {job.error or 'no reason given'}"

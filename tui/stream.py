"""From the wire to the app: SSE events to log messages, and state summaries.

:func:`event_messages` turns one event of ``/run_sse`` (API.md) into the app's
messages; :func:`summarise` says in a line or two what changed between two
session states, for a stream that ended without any text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from textual.message import Message

from tui.messages import ChoiceNeeded, ExportReady, Heartbeat, JobProgress, LogLine


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


def event_messages(event: str, data: Any, at: datetime) -> tuple[list[Message], bool]:
    """The app messages for one SSE event, and whether it carried agent text."""
    if event == "heartbeat":
        return [Heartbeat(at)], False
    if event == "progress" and isinstance(data, dict):
        eta = data.get("eta_s")
        return [
            JobProgress(
                str(data.get("job_id", "")),
                str(data.get("stage", "")),
                float(data.get("progress") or 0.0),
                float(eta) if eta is not None else None,
                at,
            )
        ], False
    if event == "error":
        message = data.get("message") if isinstance(data, dict) else data
        return [LogLine("error", _short(message, 200), at)], False
    if not isinstance(data, dict):
        return [LogLine("info", _short(data), at)], False
    out: list[Message] = []
    had_text = False
    if data.get("partial"):
        return out, False  # the final, whole event follows; partials would repeat it
    for part in (data.get("content") or {}).get("parts") or []:
        if part.get("text"):
            had_text = True
            out.append(LogLine("text", str(part["text"]).strip(), at))
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
    return out, had_text


def summarise(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What changed in the session, in words (used when a stream ends without text)."""
    before = before or {}
    lines: list[str] = []
    old_jobs = {j.get("id"): j for j in before.get("jobs") or []}
    for job in after.get("jobs") or []:
        old = old_jobs.get(job.get("id"))
        if old is None or old.get("status") != job.get("status"):
            detail = f": {job['error']}" if job.get("error") else ""
            lines.append(f"{job.get('kind', 'job')} {job.get('status')}{detail}")
    script, old_script = after.get("script") or {}, before.get("script") or {}
    if script and (script.get("revision"), script.get("video_id")) != (
        old_script.get("revision"),
        old_script.get("video_id"),
    ):
        speakers = script.get("speakers") or {}
        lines.append(
            f"script revision {script.get('revision')}: {len(script.get('turns') or [])} turns, "
            f"{len(speakers)} speakers ({', '.join(speakers.values())})"
        )
    old_media = {m.get("id") for m in before.get("generated_media") or []}
    for media in after.get("generated_media") or []:
        if media.get("id") not in old_media:
            lines.append(f"export ready: {media.get('format')} ({media.get('size', '?')} bytes)")
    return lines or ["nothing changed in the session"]

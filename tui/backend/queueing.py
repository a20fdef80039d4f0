"""The actions that queue jobs: extract (a script) and translate (a script in English).

A job is queued per file with audio, its credits frozen in the same
transaction; asking twice for the same work never pays twice; and a file
whose script holds the user's edits is never scripted again unless the
request chose ``replace`` (``keep`` leaves it; no choice: the answer asks,
and nothing is charged).  Used by :mod:`tui.backend.actions`.
"""

from __future__ import annotations

import json
from typing import Any

from tui.backend import credits, events, jobs
from tui.backend.context import Context
from tui.backend.errors import NoCredits
from tui.engine.writing import plural


def _pick_files(files: list[dict[str, Any]], which: Any) -> list[dict[str, Any]]:
    if not files:
        return []
    if which == "all":
        return files
    if isinstance(which, int):
        index = which - 1 if which > 0 else len(files) + which
        return [files[index]] if 0 <= index < len(files) else []
    if isinstance(which, str):
        wanted = which.lower()
        return [f for f in files if wanted in str(f.get("name", "")).lower()][-1:]
    return files[-1:]


def extract(ctx: Context, args: dict[str, Any]) -> None:
    files = _pick_files(ctx.files(), args.get("file"))
    if not files:
        which = args.get("file")
        ctx.answer(
            {"status": "no_file"},
            f"There is no uploaded file {which!r} in this session."
            if which
            else "Upload a video or audio file first, then ask again.",
        )
        return
    options = {k: v for k, v in args.items() if k in ("speakers", "timestamps")}
    options["language"] = args.get("language") or ctx.session["language"]
    _queue(ctx, files, options, "script", "Extracting the script of")


def _queue(
    ctx: Context, files: list[dict[str, Any]], options: dict[str, Any], kind: str, doing: str
) -> None:
    """Queue one job of ``kind`` per file that has audio, with its credits frozen.

    A file with the very same job already queued or running gets no second
    one: asking twice (a double click, a repeated message) never pays twice.
    """
    queued, skipped, cost_total = [], [], 0
    in_flight: list[str] = []
    edited: list[dict[str, Any]] = []  # files whose edited script waits for the user's choice
    for file in files:
        if not file.get("has_audio"):
            skipped.append(f"{file['name']} has no audio stream, so it cannot be scripted")
            continue
        revision = ctx.edited_revision(file["video_id"]) if ctx.if_edited != "replace" else None
        if revision is not None:
            if ctx.if_edited == "keep":
                skipped.append(f"{file['name']} keeps your edited script (revision {revision})")
            else:
                edited.append(
                    {"video_id": file["video_id"], "name": file["name"], "revision": revision}
                )
            continue
        twin = _same_job(ctx, file["video_id"], kind, options)
        if twin is not None:
            in_flight.append(twin)
            skipped.append(
                f"{file['name']} is already being done this way (job {twin}); its progress "
                "and result come on the stream that asked first, and in the session state"
            )
            continue
        cost = credits.cost_of(file.get("duration_ms"))
        try:
            job_id = jobs.create(
                ctx.store,
                ctx.db,
                session_id=ctx.session["id"],
                token=ctx.token,
                invocation_id=ctx.invocation,
                call_id=ctx.call_id,
                video_id=file["video_id"],
                options=options,
                cost=cost,
                kind=kind,
            )
        except credits.NotEnoughCredits as exc:
            raise NoCredits(
                str(exc), data={"needed": exc.needed, "available": exc.available}
            ) from exc
        queued.append({"job_id": job_id, "video_id": file["video_id"], "name": file["name"]})
        cost_total += cost
    parts = []
    if queued:
        names = ", ".join(q["name"] for q in queued)
        parts.append(f"{doing} {names} ({plural(cost_total, 'credit')} frozen until done).")
    parts.extend(s + "." for s in skipped)
    if edited:
        ctx.halted = True
        names = ", ".join(f"{e['name']} (revision {e['revision']})" for e in edited)
        parts.append(
            f"Not scripted again, and nothing charged: {names} has your edits. Ask again "
            'choosing "keep" (your edits stay) or "replace" (a new script replaces them; the names you gave '
            "speakers stay with their voices)."
        )
    events.add(
        ctx.store,
        ctx.db,
        ctx.invocation,
        [events.text(" ".join(parts))],
        partial=bool(queued) or bool(edited),
    )
    if edited:
        ctx.answer(
            {"status": "needs_choice", "edited": edited, "choices": ["keep", "replace"]},
            "Your edits are kept until you choose.",
        )
    elif not queued:
        ctx.answer(
            {"status": "not_started", "reasons": skipped, "in_progress": in_flight},
            "Nothing new was started.",
        )


def _same_job(ctx: Context, video_id: str, kind: str, options: dict[str, Any]) -> str | None:
    """The id of a queued or running job of this session doing exactly this, if any."""
    rows = ctx.db.execute(
        "SELECT id, options FROM jobs WHERE session_id=? AND video_id=? AND kind=?"
        " AND status IN ('queued', 'running') ORDER BY created_at",
        (ctx.session["id"], video_id, kind),
    ).fetchall()
    return next((r["id"] for r in rows if json.loads(r["options"] or "{}") == options), None)


def translate(ctx: Context, args: dict[str, Any]) -> None:
    """Script a file again with Whisper translating into English (a multilingual model's task).

    The file is the one named, else the latest script's, else the latest
    upload.  A script already in English is left as it is; a backend whose
    model is English-only (``--model tiny.en``) says why it cannot and how to
    get a model that can, and queues nothing.
    """
    files = ctx.files()
    latest = ctx.script()
    which = args.get("file")
    if which is not None:
        chosen = _pick_files(files, which)
    else:
        chosen = [f for f in files if latest and f["video_id"] == latest.video_id] or files[-1:]
    if not chosen:
        ctx.answer(
            {"status": "no_file"},
            f"There is no uploaded file {which!r} in this session."
            if which
            else "Upload a video or audio file first, then ask again.",
        )
        return
    script = ctx.script_of(chosen[0]["video_id"])
    if script is not None and script.language.startswith("en") and len(chosen) == 1:
        ctx.answer(
            {"status": "ok", "language": "en", "video_id": script.video_id},
            f"The script of {chosen[0]['name']} is already in English.",
        )
        return
    if ctx.backend.model_multilingual is False:
        label = ctx.backend.config.model_label
        ctx.answer(
            {"status": "unsupported", "model": label, "needs": "a multilingual model"},
            f"I cannot translate here: this backend's model ({label}) understands English "
            "only. Translating to English needs a multilingual Whisper model: start the "
            "backend with `reelscript serve --model base` (bundled, works offline) or a "
            "larger one such as `--model small` (downloaded once, so the internet is needed "
            'that first time; later runs work offline), then ask "translate to English" again.',
        )
        return
    options: dict[str, Any] = {"task": "translate", "timestamps": True}
    # The spoken language, where known, helps Whisper; "en" would mean nothing to translate.
    spoken = script.language if script is not None else ctx.session["language"]
    options["language"] = None if spoken in (None, "", "auto", "en") else spoken
    _queue(ctx, chosen, options, "translate", "Translating into English:")

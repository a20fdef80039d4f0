"""The actions ``/run_sse`` can take, each answering with stored stream events.

:func:`perform` opens an invocation, writes a ``function_call`` event, does
the action (edits happen in the same transaction as their events; an
extraction queues jobs with their credits frozen) and writes the
``function_response`` and a short ``text``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import uuid
from typing import Any

from tui.backend import credits, events, exports, jobs
from tui.backend.config import Backend
from tui.backend.context import Context
from tui.backend.errors import ApiError, NoCredits
from tui.backend.state import build_draft
from tui.engine.script import Script

log = logging.getLogger("reelscript.actions")

FILLERS = {"um", "umm", "uh", "uhh", "erm", "er", "ah", "hmm", "mm", "mhm", "嗯", "呃", "额", "啊"}

HELP = (
    'I can: extract a script with speaker labels ("extract a full written script from this '
    'video with speaker labels", optionally "2 speakers", "in French", "without '
    'timestamps", "file 2", "all files"); rename a speaker ("rename Speaker 1 to '
    'Diane"); merge speakers ("merge Speaker 2 into Speaker 1"); remove filler words; '
    'translate to English; show status and tracks ("status"); show credits ("credits"); '
    'export ("export srt": md, txt, srt, vtt, json, docx, fountain, mp4).'
)


#: One request of a message: the action, its arguments and the words that asked for it.
Request = tuple[str, dict[str, Any], str]


def perform(
    backend: Backend, session: sqlite3.Row, token: str, message: str, requests: list[Request]
) -> str:
    """Open an invocation for ``message`` and do its requests in order; returns its id.

    All that can be done at once is done in one transaction (an edit and its
    events, a job queued with its credits frozen): a request that cannot start
    (2001, not enough credits) leaves nothing stored.  The requests after one
    that queued a job wait for it, stored with the invocation, and are done by
    :func:`continue_pending` once it has finished -- "transcribe and export srt"
    exports the new script, not the one before.
    """
    after: list[Any] = []
    with backend.store.tx() as db:
        invocation = backend.store.create_invocation(db, session["id"], message)
        _run(backend, db, session, token, invocation, requests, after)
    for deferred in after:  # work that needs the invocation committed first (exports)
        deferred()
    return invocation


def continue_pending(backend: Backend) -> int:
    """Do the waiting requests of every invocation whose jobs have finished; returns how many.

    When a job they waited for did not complete (failed, cancelled), they are
    not done, and the stream says so.  Runs in the server process, polled.
    """
    store = backend.store
    done = 0
    for invocation in store.pending_ready():
        after: list[Any] = []
        try:
            with store.tx() as db:
                row = db.execute(
                    "SELECT i.pending, s.* FROM invocations i JOIN sessions s"
                    " ON s.id = i.session_id WHERE i.id=? AND i.pending IS NOT NULL",
                    (invocation,),
                ).fetchone()
                if row is None or _jobs_busy(db, invocation):
                    continue  # done meanwhile by another poll, or a job started meanwhile
                pending = json.loads(row["pending"])
                store.set_pending(db, invocation, None)
                requests = [(a, dict(args), said) for a, args, said in pending["requests"]]
                unfinished = db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE invocation_id=? AND status != 'completed'",
                    (invocation,),
                ).fetchone()[0]
                if unfinished:
                    events.add(store, db, invocation, [events.text(_not_done(requests))])
                else:
                    _run(backend, db, row, pending["token"], invocation, requests, after)
        except Exception as exc:  # 2001 (a later extraction has no credits left), or a bug
            if not isinstance(exc, ApiError):
                log.exception("follow-up requests of %s failed", invocation)
            reason = exc.message if isinstance(exc, ApiError) else "internal error"
            with store.tx() as db:  # never retried in a loop: said once, dropped
                store.set_pending(db, invocation, None)
                events.add(store, db, invocation, [events.text(f"Not done: {reason}.")])
            after = []
        for deferred in after:
            deferred()
        done += 1
    return done


def _run(
    backend: Backend,
    db: sqlite3.Connection,
    session: sqlite3.Row,
    token: str,
    invocation: str,
    requests: list[Request],
    after: list[Any],
) -> None:
    """Do ``requests`` in order until one queues a job; the rest wait for it (pending)."""
    store = backend.store
    for index, (action, args, said) in enumerate(requests):
        handler = HANDLERS.get(action)
        if handler is None:  # help, or not understood
            if action == "help" or len(requests) == 1:
                sorry = "Sorry, I did not understand that. " if action == "unknown" else ""
                events.add(store, db, invocation, [events.text(sorry + HELP)])
            else:
                events.add(store, db, invocation, [events.text(f'I did not understand "{said}".')])
            continue
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        events.add(store, db, invocation, [events.call(call_id, action, args)])
        handler(
            Context(backend, store, db, session, token, invocation, call_id, action, after), args
        )
        rest = requests[index + 1 :]
        if rest and _jobs_busy(db, invocation):
            store.set_pending(db, invocation, {"token": token, "requests": rest})
            events.add(
                store,
                db,
                invocation,
                [events.text("When that is done: " + "; ".join(r[2] for r in rest) + ".")],
            )
            return


def _jobs_busy(db: sqlite3.Connection, invocation: str) -> bool:
    return bool(
        db.execute(
            "SELECT COUNT(*) FROM jobs WHERE invocation_id=? AND status IN ('queued','running')",
            (invocation,),
        ).fetchone()[0]
    )


def _not_done(requests: list[Request]) -> str:
    asked = "; ".join(r[2] for r in requests)
    return f"Not done, because the job before did not complete: {asked}. Ask again when it has."


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
    for file in files:
        if not file.get("has_audio"):
            skipped.append(f"{file['name']} has no audio stream, so it cannot be scripted")
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
        parts.append(f"{doing} {names} ({cost_total} credit(s) frozen until done).")
    parts.extend(s + "." for s in skipped)
    events.add(
        ctx.store, ctx.db, ctx.invocation, [events.text(" ".join(parts))], partial=bool(queued)
    )
    if not queued:
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


def _edit(ctx: Context, change: Any, done: str) -> None:
    script = ctx.script()
    if script is None:
        ctx.answer({"status": "no_script"}, "There is no script yet: extract one first.")
        return
    try:
        detail = change(script)
    except (KeyError, ValueError) as exc:
        names = ", ".join(f"{sid} ({name})" for sid, name in script.speakers.items())
        ctx.answer(
            {"status": "error", "error": str(exc).strip("'\"")},
            f"{str(exc).strip(chr(34) + chr(39))}. Speakers: {names}.",
        )
        return
    saved = ctx.save(script)
    ctx.answer(
        {
            "status": "ok",
            "video_id": saved["video_id"],
            "revision": saved["revision"],
            "speakers": saved["speakers"],
        },
        done.format(detail=detail),
    )


def _speaker(script: Script, said: str) -> str:
    try:
        return script.resolve_speaker(said)
    except KeyError:
        match = re.fullmatch(r"(?:speaker|说话人|s)\s*(\d+)", said.strip(), re.I)
        if match:
            return script.resolve_speaker(match.group(1))
        raise


def rename(ctx: Context, args: dict[str, Any]) -> None:
    def change(script: Script) -> str:
        sid = _speaker(script, args["speaker"])
        old = script.speaker_name(sid)
        script.rename_speaker(sid, args["name"])
        return f"{old} is now {script.speaker_name(sid)}"

    _edit(ctx, change, "Renamed: {detail}.")


def merge(ctx: Context, args: dict[str, Any]) -> None:
    def change(script: Script) -> str:
        src, dst = _speaker(script, args["source"]), _speaker(script, args["target"])
        label = f"{script.speaker_name(src)} into {script.speaker_name(dst)}"
        script.merge_speakers(src, dst)
        return label

    _edit(ctx, change, "Merged {detail}.")


def fillers(ctx: Context, args: dict[str, Any]) -> None:
    def change(script: Script) -> str:
        removed = 0
        for index, turn in enumerate(script.turns):
            kept = [w for w in turn.text.split() if re.sub(r"[^\w]", "", w.lower()) not in FILLERS]
            if len(kept) != len(turn.text.split()):
                removed += len(turn.text.split()) - len(kept)
                script.edit_turn_text(index, " ".join(kept))
        script.turns = [t for t in script.turns if t.text.strip()]
        return str(removed)

    _edit(ctx, change, "Removed {detail} filler word(s).")


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


def export(ctx: Context, args: dict[str, Any]) -> None:
    script = ctx.script()
    if script is None:
        ctx.answer({"status": "no_script"}, "There is no script to export yet: extract one first.")
        return
    render_id = f"render_{int(time.time() * 1000)}_{uuid.uuid4().hex[:6]}"
    ctx.after.append(
        lambda: exports.start(
            ctx.backend,
            ctx.token,
            ctx.session["id"],
            render_id,
            args["format"],
            script.video_id,
            {"timestamps": args.get("timestamps", True)},
            invocation=(ctx.invocation, ctx.call_id),
        )
    )
    events.add(
        ctx.store,
        ctx.db,
        ctx.invocation,
        [events.text(f"Exporting {args['format']} ({render_id})...")],
        partial=True,
    )


def show_credits(ctx: Context, args: dict[str, Any]) -> None:
    balance = credits.balance(ctx.store, ctx.token)
    text = (
        "Credits: unlimited (∞)"
        if balance["unlimited"]
        else f"Credits: {balance['available']} available"
    )
    ctx.answer(balance, f"{text}, {balance['frozen']} frozen by running jobs.")


def status(ctx: Context, args: dict[str, Any]) -> None:
    files = ctx.files()
    script = ctx.script()
    file = next(
        (f for f in files if script and f["video_id"] == script.video_id),
        files[-1] if files else None,
    )
    draft = build_draft(file, script.to_dict() if script else None)
    rows = ctx.db.execute(
        "SELECT * FROM jobs WHERE session_id=? ORDER BY created_at", (ctx.session["id"],)
    ).fetchall()
    job_list = [jobs.public(r) for r in rows]
    tracks = {0: "video", 1: "speech", 7: "text"}
    lines = [
        f"{len(files)} file(s); {len(job_list)} job(s)"
        + (f", last: {job_list[-1]['status']}" if job_list else "")
    ]
    for track in draft["t"]:
        lines.append(f"{tracks.get(track['tt'], track['tt'])} track: {len(track['sg'])} segment(s)")
    if script:
        lines.append(
            f"script: {len(script.turns)} turn(s), speakers {', '.join(script.speakers.values())}"
        )
    ctx.answer(
        {
            "files": len(files),
            "jobs": job_list,
            "draft": {"d": draft["d"], "tracks": [len(t["sg"]) for t in draft["t"]]},
        },
        "; ".join(lines) + ".",
    )


HANDLERS = {
    "extract": extract,
    "rename": rename,
    "merge": merge,
    "fillers": fillers,
    "translate": translate,
    "export": export,
    "credits": show_credits,
    "status": status,
    "help": None,
}

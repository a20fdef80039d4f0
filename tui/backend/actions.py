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

from tui.backend import credits, events, exports, jobs, queueing, voices_actions
from tui.backend.config import Backend
from tui.backend.context import Context
from tui.backend.errors import ApiError
from tui.backend.state import build_draft
from tui.engine.script import Script
from tui.engine.writing import plural, replace_text

log = logging.getLogger("reelscript.actions")

FILLERS = {"um", "umm", "uh", "uhh", "erm", "er", "ah", "hmm", "mm", "mhm", "嗯", "呃", "额", "啊"}

HELP = (
    'I can: extract a script with speaker labels ("extract a full written script from this '
    'video with speaker labels", optionally "2 speakers", "without timestamps", '
    '"file 2", "all files", and with a multilingual model "in French"); rename a speaker ("rename Speaker 1 to '
    'Diane"); merge speakers ("merge Speaker 2 into Speaker 1"); remove filler words; '
    'replace words ("replace Shiela with Sheila"); translate to English; show status and tracks ("status"); show credits ("credits"); '
    'export ("export srt": md, txt, srt, vtt, json, docx, fountain, mp4; "export 1080p MP4" '
    'or "export vertical video with captions": a video with the captions in the picture).'
)


#: A captioned export's resolution, as said back to the user.
_FRAMES = {"1080p": "1080p", "1080x1920": "vertical 1080x1920", "source": "source-size"}

#: One request of a message: the action, its arguments and the words that asked for it.
Request = tuple[str, dict[str, Any], str]


def perform(
    backend: Backend,
    session: sqlite3.Row,
    token: str,
    message: str,
    requests: list[Request],
    if_edited: str | None = None,
) -> str:
    """Open an invocation for ``message`` and do its requests in order; returns its id.

    All that can be done at once is done in one transaction (an edit and its
    events, a job queued with its credits frozen): a request that cannot start
    (2001, not enough credits) leaves nothing stored.  The requests after one
    that queued a job wait for it, stored with the invocation, and are done by
    :func:`continue_pending` once it has finished -- "transcribe and export srt"
    exports the new script, not the one before.  ``if_edited`` is the request's
    choice for files whose script holds the user's edits (``keep``/``replace``;
    None: they are not scripted again, and the answer asks for the choice).
    """
    after: list[Any] = []
    with backend.store.tx() as db:
        invocation = backend.store.create_invocation(db, session["id"], message)
        _run(backend, db, session, token, invocation, requests, after, if_edited)
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
                    _run(
                        backend,
                        db,
                        row,
                        pending["token"],
                        invocation,
                        requests,
                        after,
                        pending.get("if_edited"),
                    )
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
    if_edited: str | None = None,
) -> None:
    """Do ``requests`` in order until one queues a job; the rest wait for it (pending).

    An extraction that stops for the user's choice (an edited script) ends the
    message there: what came after it is not done, and the answer says so.
    """
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
        context = Context(
            backend, store, db, session, token, invocation, call_id, action, after, if_edited
        )
        handler(context, args)
        rest = requests[index + 1 :]
        if rest and context.halted:
            events.add(store, db, invocation, [events.text(_not_done(rest, "it"))])
            return
        if rest and _jobs_busy(db, invocation):
            pending = {"token": token, "requests": rest, "if_edited": if_edited}
            store.set_pending(db, invocation, pending)
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


def _not_done(requests: list[Request], why: str = "the job before did not complete") -> str:
    asked = "; ".join(r[2] for r in requests)
    if why == "it":
        return f"Not done, as the request before needs your choice: {asked}."
    return f"Not done, because {why}: {asked}. Ask again when it has."


class _Unchanged(Exception):
    """An edit that finds nothing to change (says why); no revision is made."""


def _edit(ctx: Context, change: Any, done: str, told: dict[str, Any] | None = None) -> None:
    """Apply ``change`` to the latest script and save it; ``told``: fields ``change``
    fills in for the answer (which speaker it renamed)."""
    script = ctx.script()
    if script is None:
        ctx.answer({"status": "no_script"}, "There is no script yet: extract one first.")
        return
    try:
        detail = change(script)
    except _Unchanged as exc:  # nothing to do: no new revision
        ctx.answer({"status": "unchanged", "revision": script.revision}, f"{exc}.")
        return
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
            **(told or {}),
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
    told: dict[str, Any] = {}

    def change(script: Script) -> str:
        sid = _speaker(script, args["speaker"])
        old = script.speaker_name(sid)
        script.rename_speaker(sid, args["name"])
        told.update(speaker=sid, name=script.speaker_name(sid))  # the app may remember the voice
        return f"{old} is now {script.speaker_name(sid)}"

    _edit(ctx, change, "Renamed: {detail}.", told)


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
        if not removed:
            raise _Unchanged("There are no filler words to remove")
        return plural(removed, "filler word")

    _edit(ctx, change, "Removed {detail}.")


def replace_words(ctx: Context, args: dict[str, Any]) -> None:
    """Every occurrence of ``old`` in the script's text made ``new`` (a misheard name, a
    word the recogniser always gets wrong), the words re-aligned to their timings."""
    old, new = args["old"], args["new"]

    def change(script: Script) -> str:
        count = 0
        for index, turn in enumerate(script.turns):
            text, found = replace_text(turn.text, old, new, whole_words=True)
            if found:
                count += found
                script.edit_turn_text(index, text)
        script.turns = [t for t in script.turns if t.text.strip()]
        if not count:
            hint = ""
            if any(name.casefold() == old.casefold() for name in script.speakers.values()):
                hint = f' (a speaker\'s name: "rename {old} to {new}")'
            raise _Unchanged(f'There is no "{old}" in the script\'s text{hint}')
        return f'"{old}" with "{new}" ({plural(count, "time")})'

    _edit(ctx, change, "Replaced {detail}.")


def export(ctx: Context, args: dict[str, Any]) -> None:
    script = ctx.script()
    if script is None:
        ctx.answer({"status": "no_script"}, "There is no script to export yet: extract one first.")
        return
    render_id = f"render_{int(time.time() * 1000)}_{uuid.uuid4().hex[:6]}"
    options: dict[str, Any] = {"timestamps": args.get("timestamps", True)}
    what = args["format"]
    if what == "captioned":
        options.update(resolution=args.get("resolution", "1080p"), fit=args.get("fit", "blur"))
        what = f"a {_FRAMES[options['resolution']]} video with the captions in the picture"
    exports.queue(
        ctx.store,
        ctx.db,
        ctx.token,
        ctx.session["id"],
        render_id,
        args["format"],
        script.video_id,
        options,
        invocation=(ctx.invocation, ctx.call_id),
    )
    ctx.after.append(lambda: exports.submit(ctx.backend, ctx.token, render_id))
    events.add(
        ctx.store,
        ctx.db,
        ctx.invocation,
        [events.text(f"Exporting {what} ({render_id})...")],
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
        f"{plural(len(files), 'file')}; {plural(len(job_list), 'job')}"
        + (f", last: {job_list[-1]['status']}" if job_list else "")
    ]
    for track in draft["t"]:
        lines.append(
            f"{tracks.get(track['tt'], track['tt'])} track: {plural(len(track['sg']), 'segment')}"
        )
    if script:
        lines.append(
            f"script: {plural(len(script.turns), 'turn')}, speakers {', '.join(script.speakers.values())}"
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
    "extract": queueing.extract,
    "rename": rename,
    "merge": merge,
    "fillers": fillers,
    "replace": replace_words,
    "translate": queueing.translate,
    "export": export,
    "credits": show_credits,
    "status": status,
    "help": None,
    **voices_actions.HANDLERS,
}

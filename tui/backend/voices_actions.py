"""What ``/run_sse`` understands about remembered voices.

* remember  "remember Speaker 2 as Sheila", "remember Speaker 2's voice as Sheila":
            the speaker is renamed in the latest script and the voice remembered
            (a print kept when the file was scripted, or made now from the upload);
* forget    "forget Sheila", "forget the voice of Sheila": every sample deleted;
* who       "who is Speaker 3?": "Sheila, 0.86" or "not a voice I know".

The voices are the caller's client identity's (:mod:`tui.backend.voices_store`).
"""

from __future__ import annotations

import re
from typing import Any

from tui.backend.context import Context
from tui.backend.voices_store import VoiceBook, VoiceError, owner_of_account, print_of
from tui.engine.script import Script, speaker_spans

WHO = r"(?P<who>speaker\s*\d+|s\d+|\d+|[^\s,?']+)"
REMEMBER = re.compile(rf"\bremember\s+{WHO}(?:'s)?(?:\s+voice)?\s+as\s+(?P<name>.+)", re.I)
FORGET = re.compile(r"\bforget\s+(?:the\s+voice\s+of\s+|the\s+voice\s+)?(?P<name>.+)", re.I)
WHO_IS = re.compile(rf"\bwho\s+is\s+{WHO}\s*\??\s*$", re.I)


def understand(text: str) -> tuple[str, dict[str, str]] | None:
    """(action, args) for a voice request, else None."""
    found = REMEMBER.search(text)
    if found:
        name = found.group("name").strip().strip(".!\"'")
        return "remember", {"speaker": found.group("who"), "name": name}
    found = WHO_IS.search(text.strip())
    if found:
        return "who", {"speaker": found.group("who")}
    found = FORGET.search(text)
    if found:
        return "forget_voice", {"name": found.group("name").strip().strip(".!\"'")}
    return None


def _book(ctx: Context) -> VoiceBook:
    return VoiceBook(ctx.store, owner_of_account(ctx.store, ctx.token))


def _speaker_print(ctx: Context, script: Script, sid: str) -> tuple[Any, str] | None:
    """The speaker's print: kept from the job, or made now from the stored upload."""
    kept = print_of(ctx.store, script.video_id, sid)
    if kept is not None:
        return kept
    from tui.engine import media, voices
    from tui.engine.errors import EngineError

    row = ctx.store.file(ctx.session["id"], script.video_id)
    spans = speaker_spans(script).get(sid, [])
    if row is None or not spans:
        return None
    try:
        audio = media.decode_audio(ctx.store.located(row["path"]))
    except EngineError:
        return None
    voice = voices.print_of(audio, spans)
    return (voice, str(row["path"])) if voice is not None else None


def _script_and_speaker(ctx: Context, said: str) -> tuple[Script, str] | None:
    from tui.backend.actions import _speaker

    script = ctx.script()
    if script is None:
        ctx.answer({"status": "no_script"}, "There is no script yet: extract one first.")
        return None
    try:
        return script, _speaker(script, said)
    except KeyError:
        names = ", ".join(f"{sid} ({name})" for sid, name in script.speakers.items())
        ctx.answer({"status": "error"}, f"No speaker called {said!r}. Speakers: {names}.")
        return None


def remember(ctx: Context, args: dict[str, Any]) -> None:
    found = _script_and_speaker(ctx, args["speaker"])
    if found is None:
        return
    script, sid = found
    voice = _speaker_print(ctx, script, sid)
    if voice is None:
        ctx.answer(
            {"status": "error"},
            f"{script.speaker_name(sid)} speaks too little in this file to remember the voice.",
        )
        return
    try:
        profile = _book(ctx).remember(args["name"], voice[0], voice[1])
    except VoiceError as exc:
        ctx.answer({"status": "error", "error": str(exc)}, f"{exc}.")
        return
    old = script.speaker_name(sid)
    script.rename_speaker(sid, profile.name)
    saved = ctx.save(script)
    ctx.answer(
        {"status": "ok", "voice": profile.name, "video_id": saved["video_id"],
         "revision": saved["revision"], "speakers": saved["speakers"]},
        f"Remembered {profile.name}'s voice ({old} is now {profile.name}); later files "
        f"name {profile.name} wherever that voice speaks.",
    )  # fmt: skip


def forget(ctx: Context, args: dict[str, Any]) -> None:
    try:
        gone = _book(ctx).forget(args["name"])
    except VoiceError:
        ctx.answer({"status": "unknown"}, f"{args['name']} is not a voice I know.")
        return
    ctx.answer({"status": "ok", "forgotten": gone}, f"Forgot {gone}: every sample is deleted.")


def who(ctx: Context, args: dict[str, Any]) -> None:
    from tui.engine import voices

    found = _script_and_speaker(ctx, args["speaker"])
    if found is None:
        return
    script, sid = found
    known = script.speaker_matches.get(sid)
    if known is None:
        voice = _speaker_print(ctx, script, sid)
        scored = (
            [(p.score(voice[0].vector), p.name) for p in _book(ctx).profiles()] if voice else []
        )
        best = max(scored, default=(0.0, ""))
        if best[0] >= voices.THRESHOLD:
            known = {"voice": best[1], "confidence": round(best[0], 3)}
    if known is None:
        ctx.answer({"status": "unknown"}, f"{script.speaker_name(sid)}: not a voice I know.")
        return
    ctx.answer({"status": "ok", **known}, f"{known['voice']}, {known['confidence']:.2f}")


HANDLERS = {"remember": remember, "forget_voice": forget, "who": who}

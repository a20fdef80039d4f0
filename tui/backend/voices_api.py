"""The voice routes of docs/api.md: list, rename, merge, forget, enrol, export and import.

Each path takes one method (an ``Allow`` header then lists exactly it).

Every route acts on the voices of the caller's client identity (the client id
its token was issued to, see :mod:`tui.backend.voices_store`): a renewed or
recovered token sees the same voices, another identity never does.  Enrolling
takes a speaker of a scripted file of the caller's own session: the print
made when the file was scripted, or else one made now from the stored upload.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tui.backend.api import BackendDep, TokenDep, ok, owned_session
from tui.backend.config import Backend
from tui.backend.errors import ApiError, Conflict, Invalid, NotFound
from tui.backend.models import Envelope
from tui.backend.voices_store import VoiceBook, VoiceError, owner_of_account, print_of
from tui.engine.script import Script, speaker_spans

router = APIRouter(tags=["voices"])
#: Requests are taken as the schema says, nothing coerced ("1" is not a number).
STRICT = ConfigDict(strict=True)


class Voice(BaseModel):
    name: str
    files: int
    last_heard: float | None = None
    centroids: int
    encoder: str
    needs_sample: bool


class VoicesData(BaseModel):
    voices: list[Voice]


class VoiceData(BaseModel):
    voice: Voice


class ForgetData(BaseModel):
    forgotten: str


#: A voice's name: 1-100 characters, not only spaces.  The class spells out what
#: "space" means so the server (pydantic's regex, Unicode White_Space: U+0085
#: too) and the published JSON Schema (ECMA-262 \s: U+FEFF too; Python's adds
#: U+001C-U+001F) agree on every name: "\x85" alone was valid by the schema but refused.
NAME = Field(min_length=1, max_length=100, pattern=r"[^\s\x1c-\x1f\x85\ufeff]")


class EnrolRequest(BaseModel):
    model_config = STRICT
    name: str = NAME
    session_id: str = Field(min_length=1, max_length=100)
    video_id: str = Field(min_length=1, max_length=100)
    speaker: str = Field(min_length=1, max_length=100, description="speaker id or display name")


class RenameRequest(BaseModel):
    model_config = STRICT
    name: str = NAME


class MergeRequest(BaseModel):
    model_config = STRICT
    into: str = Field(min_length=1, max_length=100)


class ExportedCentroid(BaseModel):
    model_config = STRICT
    vector: list[float] = Field(min_length=1)
    source: str = Field("", max_length=200)
    seconds: float = Field(0.0, ge=0, le=1e7)


class ExportedVoice(BaseModel):
    model_config = STRICT
    name: str = NAME
    encoder: str = Field(min_length=1, max_length=200)
    centroids: list[ExportedCentroid] = Field(min_length=1)
    files: float = Field(0, ge=0, le=1e9)  # a count; a number, so 5.0 means what JSON Schema says
    last_heard: float | None = None


class ExportData(BaseModel):
    model_config = STRICT
    format: Literal["reelscript-voices/1"]
    voices: list[ExportedVoice]  # bounded by the body limit (docs/api.md)


class ImportData(BaseModel):
    imported: list[str]


def book(backend: Backend, token: str) -> VoiceBook:
    return VoiceBook(backend.store, owner_of_account(backend.store, token))


def _voice(shelf: VoiceBook, name: str) -> dict[str, Any]:
    wanted = name.casefold()
    return next(v for v in shelf.listing() if v["name"].casefold() == wanted)


def _call(action: Any) -> Any:
    try:
        return action()
    except VoiceError as exc:
        kind: type[ApiError] = {404: NotFound, 409: Conflict}.get(exc.status, Invalid)
        raise kind(str(exc)) from exc


@router.get("/api/voices", response_model=Envelope[VoicesData])
def list_voices(backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    return ok({"voices": book(backend, token).listing()})


@router.post("/api/voices/enrol", response_model=Envelope[VoiceData])
def enrol(body: EnrolRequest, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    """Remember the voice of one speaker of a scripted file as ``name``."""
    owned_session(backend, body.session_id, token)
    store = backend.store
    row = store.file(body.session_id, body.video_id)
    stored = store.script(body.video_id)
    if row is None or stored is None:
        raise NotFound(f"no script of file {body.video_id} in this session")
    script = Script.from_dict(stored)
    try:
        speaker = script.resolve_speaker(body.speaker)
    except (KeyError, ValueError) as exc:
        raise NotFound(str(exc)) from exc
    kept = print_of(store, body.video_id, speaker)
    if kept is None:
        kept = _print_now(store, row, script, speaker)
    shelf = book(backend, token)
    voice, source = kept
    _call(lambda: shelf.remember(body.name, voice, source))
    return ok({"voice": _voice(shelf, body.name.strip())}, f"remembered {body.name.strip()}")


def _print_now(store: Any, row: Any, script: Script, speaker: str) -> tuple[Any, str]:
    from tui.engine import media, voices
    from tui.engine.errors import EngineError

    spans = speaker_spans(script).get(speaker, [])
    try:
        audio = media.decode_audio(store.located(row["path"]))
    except EngineError as exc:
        raise NotFound("the upload is no longer stored on the server: upload it again") from exc
    voice = voices.print_of(audio, spans) if spans else None
    if voice is None:
        raise Invalid(
            f"{script.speaker_name(speaker)} speaks too little in this file for a voice "
            f"(at least {voices.MIN_SPEECH_S:g} s)"
        )
    return voice, str(row["path"])


@router.post("/api/voices/{name}/rename", response_model=Envelope[VoiceData])
def rename(name: str, body: RenameRequest, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    shelf = book(backend, token)
    _call(lambda: shelf.rename(name, body.name))
    return ok({"voice": _voice(shelf, " ".join(body.name.split()))})


@router.post("/api/voices/{name}/merge", response_model=Envelope[VoiceData])
def merge(name: str, body: MergeRequest, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    shelf = book(backend, token)
    joined = _call(lambda: shelf.merge(name, body.into))
    return ok({"voice": _voice(shelf, joined.name)})


@router.post("/api/voices/{name}/forget", response_model=Envelope[ForgetData])
def forget(name: str, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    gone = _call(lambda: book(backend, token).forget(name))
    return ok({"forgotten": gone}, f"forgot {gone}")


@router.get("/api/voices-export", response_model=Envelope[ExportData])
def export(backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    return ok(book(backend, token).export())


@router.post("/api/voices-import", response_model=Envelope[ImportData])
def import_voices(body: ExportData, backend: BackendDep, token: TokenDep) -> dict[str, Any]:
    names = _call(lambda: book(backend, token).import_(body.model_dump()))
    return ok({"imported": names})

"""Request and response models of docs/api.md, for validation and /openapi.json.

Every response is the envelope ``{code, message, data}``; the ``data`` models
name the fields docs/api.md promises (extra fields are additions, never renames).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tui.engine.formats.names import FORMATS

T = TypeVar("T")
#: What an export id may be: a name, never a path (no ``.``, no separators).
RENDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
RENDER_ID_RULE = "1-100 letters, digits, '_' or '-', starting with a letter or digit"


class Envelope(BaseModel, Generic[T]):
    code: int = 0
    message: str = "ok"
    data: T


class ErrorEnvelope(BaseModel):
    code: int
    message: str
    data: dict[str, Any] | None = None


class Open(BaseModel):
    """A model that keeps fields it does not name (docs/api.md objects may grow)."""

    model_config = ConfigDict(extra="allow")


# -- requests -------------------------------------------------------------------
class SessionRequest(BaseModel):
    task_name: str = Field("project", max_length=200)
    language: str = Field("en", min_length=1, max_length=16, pattern=r"^[A-Za-z-]+$")


#: An http(s) URL with a host: what a URL upload fetches (anything else answers 422).
#: (A host name or IPv4 address in ASCII, IDNA "xn--" labels included (no IPv6 literals);
#: a port; the rest printable ASCII, as RFC 3986 writes a URL: other characters
#: percent-encoded.)
HttpUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)"
        r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
        r"([/?#][!-~]*)?$",
    ),
]


class UrlUpload(BaseModel):
    urls: list[HttpUrl] = Field(min_length=1, max_length=20)
    source_type: Literal["url"] = "url"


class MessagePart(BaseModel):
    text: str = Field(max_length=4000)


class NewMessage(BaseModel):
    role: str = "user"
    parts: list[MessagePart] = Field(min_length=1, max_length=20)


class RunRequest(BaseModel):
    app_name: str = "nemo_agent"
    user_id: str = "me"
    session_id: str = Field(max_length=100)
    new_message: NewMessage
    #: For a file whose script holds the user's edits: keep them, or replace them with a
    #: new script.  Not said: such a file is not scripted again (the answer asks).
    if_edited: Literal["keep", "replace"] | None = None


class ScriptPut(BaseModel):
    revision: int = Field(ge=0)
    script: dict[str, Any]


class RenderOutput(BaseModel):
    format: Literal[FORMATS]  # type: ignore[valid-type]  # the one list of export formats
    quality: str = "high"
    timestamps: bool = True
    resolution: Literal["1080p", "1080x1920", "source"] = Field(
        "1080p", description="captioned only: 1920x1080, vertical 1080x1920, or the video's own"
    )
    fit: Literal["blur", "crop"] = Field(
        "blur",
        description="captioned only: a picture of another shape, over a blurred fill or cropped",
    )


class RenderRequest(BaseModel):
    id: str = Field(
        min_length=1, max_length=100, pattern=RENDER_ID_PATTERN, description=RENDER_ID_RULE
    )
    sessionId: str = Field(max_length=100)
    draft: dict[str, Any] = Field(default_factory=dict)
    output: RenderOutput
    video_id: str | None = Field(None, max_length=100)


# -- response data ----------------------------------------------------------------
class TokenData(BaseModel):
    token: str
    credits: int | None = Field(description="starting credits; null when unlimited (show ∞)")
    unlimited: bool = False
    expires_at: str


class SessionData(BaseModel):
    task_id: str
    session_id: str


class FileInfo(Open):
    video_id: str
    name: str
    size: int
    duration_ms: int | None
    width: int | None
    height: int | None
    has_audio: bool
    format: str


class UploadData(BaseModel):
    files: list[FileInfo]


class JobInfo(Open):
    id: str
    kind: str
    video_id: str | None
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    stage: str | None
    progress: float
    error: str | None


class StateBody(Open):
    draft: dict[str, Any]
    video_infos: list[FileInfo]
    generated_media: list[dict[str, Any]]
    scripts: dict[str, dict[str, Any]]
    script: dict[str, Any] | None
    jobs: list[JobInfo]


class StateData(BaseModel):
    state: StateBody


class ScriptData(BaseModel):
    script: dict[str, Any]


class CreditsData(BaseModel):
    available: int | None = Field(description="null when unlimited (show ∞)")
    frozen: int
    total: int | None
    unlimited: bool = False
    display: str = ""


class RenderOutputUrl(BaseModel):
    url: str | None = None


class RenderData(Open):
    id: str
    status: Literal["queued", "rendering", "completed", "failed"]
    progress: float
    output: RenderOutputUrl
    error: str | None
    eta_s: float | None = Field(None, description="while rendering: seconds left, when known")
    note: str | None = Field(None, description="e.g. a captioned export of a file with no picture")


class HealthData(Open):
    status: str
    version: str
    model: str
    device: str
    #: Job worker processes alive now (a team: those that renewed their heartbeat).
    workers: int | None = None


class CancelData(BaseModel):
    job: JobInfo

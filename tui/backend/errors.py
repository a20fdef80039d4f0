"""The errors the API answers with: one class per code of docs/api.md's table.

Routes raise these; one exception handler turns each into the envelope
``{code, message, data}`` with the HTTP status the table gives.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code = 500
    status = 500

    def __init__(
        self,
        message: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


class ClientIdMissing(ApiError):
    """X-Client-Id missing on anonymous-token."""

    code = 400
    status = 400


class ExportRefused(ApiError):
    """Export refused: attribution headers missing."""

    code = 402
    status = 402


class Invalid(ApiError):
    """Request body or parameters invalid."""

    code = 422
    status = 422


class Conflict(ApiError):
    """Edit on a stale script revision."""

    code = 409
    status = 409


class RateLimited(ApiError):
    """Rate limited; Retry-After is set."""

    code = 429
    status = 429


class Unauthorized(ApiError):
    """Token missing, bad or expired."""

    code = 1001
    status = 401


class NotFound(ApiError):
    """Session, job or file not found, or not yours."""

    code = 1002
    status = 404


class NoCredits(ApiError):
    """Not enough credits."""

    code = 2001
    status = 402


class Unsupported(ApiError):
    """Unsupported or undecodable file."""

    code = 4001
    status = 415


class TooLarge(ApiError):
    """File larger than the limit."""

    code = 4002
    status = 413


BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        ClientIdMissing,
        ExportRefused,
        Invalid,
        Conflict,
        RateLimited,
        Unauthorized,
        NotFound,
        NoCredits,
        Unsupported,
        TooLarge,
    )
}


def engine_reason(exc: BaseException) -> str:
    """An engine error's message without the path it starts with.

    Engine errors read ``"<path>: <reason>"``; in the backend that path is a
    temp or content-addressed file whose name means nothing to the user, so
    callers put the user's own file name in front of the reason instead
    (once: never ``"name: /data/media/ab/ab12.mp4: reason"``).
    """
    text = str(exc)
    path = getattr(exc, "path", None)
    if path and text.startswith(f"{path}: "):
        text = text[len(str(path)) + 2 :]
    return text


#: HTTP statuses any route may answer with, for the OpenAPI document.
ERROR_STATUSES = (400, 401, 402, 404, 409, 413, 415, 422, 429, 500)

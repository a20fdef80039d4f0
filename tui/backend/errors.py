"""The errors the API answers with: one class per code of shared/API.md's table.

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


def _error(name: str, code: int, status: int, doc: str) -> type[ApiError]:
    return type(name, (ApiError,), {"code": code, "status": status, "__doc__": doc})


ClientIdMissing = _error("ClientIdMissing", 400, 400, "X-Client-Id missing on anonymous-token.")
ExportRefused = _error("ExportRefused", 402, 402, "Export refused: attribution headers missing.")
Invalid = _error("Invalid", 422, 422, "Request body or parameters invalid.")
Conflict = _error("Conflict", 409, 409, "Edit on a stale script revision.")
RateLimited = _error("RateLimited", 429, 429, "Rate limited; Retry-After is set.")
Unauthorized = _error("Unauthorized", 1001, 401, "Token missing, bad or expired.")
NotFound = _error("NotFound", 1002, 404, "Session, job or file not found, or not yours.")
NoCredits = _error("NoCredits", 2001, 402, "Not enough credits.")
Unsupported = _error("Unsupported", 4001, 415, "Unsupported or undecodable file.")
TooLarge = _error("TooLarge", 4002, 413, "File larger than the limit.")

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

#: HTTP statuses any route may answer with, for the OpenAPI document.
ERROR_STATUSES = (400, 401, 402, 404, 409, 413, 415, 422, 429, 500)

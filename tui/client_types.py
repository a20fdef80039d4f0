"""What the API client returns and raises: typed errors per docs/api.md code, events, the token file.

Re-exported by :mod:`tui.client`; import them from there.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tui.datadir import write_json


# -- errors -------------------------------------------------------------------------
class ApiError(Exception):
    """An answer with a non-zero ``code``; ``str(error)`` is the server's message."""

    code = 500

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int = 0,
        data: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else type(self).code
        self.status = status
        self.data = data
        self.retry_after = retry_after


class BadRequest(ApiError):
    code = 400


class ExportRefused(ApiError):
    code = 402


class RevisionConflict(ApiError):
    """409: the script changed on the server; :attr:`current_script` is the stored one."""

    code = 409

    @property
    def current_script(self) -> dict[str, Any] | None:
        return (self.data or {}).get("script")


class InvalidRequest(ApiError):
    code = 422


class RateLimited(ApiError):
    code = 429


class AuthError(ApiError):
    code = 1001


class NotFound(ApiError):
    code = 1002


class NoCredits(ApiError):
    code = 2001


class UnsupportedFile(ApiError):
    code = 4001


class FileTooLarge(ApiError):
    code = 4002


class ServerError(ApiError):
    code = 500


class ServerUnreachable(ApiError):
    """No answer at all (server down, connection lost and not resumable)."""

    code = -1


ERRORS: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        ExportRefused,
        RevisionConflict,
        InvalidRequest,
        RateLimited,
        AuthError,
        NotFound,
        NoCredits,
        UnsupportedFile,
        FileTooLarge,
        ServerError,
    )
}


def error_from(response: httpx.Response, body: Any) -> ApiError:
    """The typed error of an answer (envelope or not)."""
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        code, message, data = body["code"], str(body.get("message") or ""), body.get("data")
    else:
        code, message, data = response.status_code, f"HTTP {response.status_code}", None
    cls = ERRORS.get(code) or ERRORS.get(response.status_code) or ApiError
    retry = response.headers.get("retry-after")
    return cls(
        message or f"error {code}",
        code=code,
        status=response.status_code,
        data=data,
        retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
    )


# -- results ------------------------------------------------------------------------
@dataclass
class Session:
    task_id: str
    session_id: str


@dataclass
class Event:
    """One event of a ``/run_sse`` stream: ``kind`` is message, progress or heartbeat."""

    kind: str
    data: dict[str, Any]
    id: str | None = None

    @property
    def parts(self) -> list[dict[str, Any]]:
        return list(((self.data.get("content") or {}).get("parts")) or [])

    @property
    def text(self) -> str:
        return "".join(p["text"] for p in self.parts if "text" in p)

    @property
    def function_calls(self) -> list[dict[str, Any]]:
        return [p["function_call"] for p in self.parts if "function_call" in p]

    @property
    def function_responses(self) -> list[dict[str, Any]]:
        return [p["function_response"] for p in self.parts if "function_response" in p]

    @property
    def partial(self) -> bool:
        return bool(self.data.get("partial"))


@dataclass
class TokenStore:
    """The client id, the secret that proves it, and one token per server, in a small
    JSON file (mode 0600).  The id and secret are written before a token is asked
    for, so a token lost on the way is replaced on the same account."""

    path: Path
    client_id: str = ""
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_secret: str = ""

    @classmethod
    def load(cls, path: Path) -> TokenStore:
        try:
            raw = json.loads(path.read_text())
            return cls(
                path,
                str(raw.get("client_id") or ""),
                dict(raw.get("tokens") or {}),
                str(raw.get("client_secret") or ""),
            )
        except (OSError, ValueError, AttributeError):
            return cls(path)

    def new_identity(self) -> None:
        """A fresh client id and secret (kept tokens stay: they name their servers)."""
        self.client_id, self.client_secret = str(uuid.uuid4()), secrets.token_urlsafe(32)

    def save(self) -> None:
        write_json(
            self.path,
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "tokens": self.tokens,
            },
        )

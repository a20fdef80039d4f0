"""The API client's errors: one class per docs/api.md code, and the client's retry rules.

:func:`error_from` turns an answer into its typed error; :class:`RetryOnce`
is docs/api.md's rule for one call: a new token once on 1001, one wait on 429.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tui.client.http import Client

#: Longest Retry-After the client waits by itself (longer ones raise RateLimited).
MAX_RETRY_WAIT_S = 30.0


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


@dataclass
class RetryOnce:
    """docs/api.md's client rules for one call: a new token once on 1001, one wait on 429."""

    renewed: bool = False
    waited: bool = False

    async def allows(self, client: Client, error: ApiError, *, auth: bool = True) -> bool:
        """True when ``error`` has been dealt with and the call should be sent again."""
        if isinstance(error, AuthError) and auth and not self.renewed:
            self.renewed = True
            await client.ensure_token(renew=True)
            return True
        if isinstance(error, RateLimited) and not self.waited:
            wait = error.retry_after or 1
            if wait <= MAX_RETRY_WAIT_S:
                self.waited = True
                await asyncio.sleep(wait)
                return True
        return False

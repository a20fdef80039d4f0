"""The API client's tokens: the token file (:class:`TokenStore`) and one server's token
(:class:`TokenKeeper`), renewed and re-identified by docs/api.md's rules.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.client.errors import BadRequest, RateLimited
from tui.datadir import write_json

#: Asks the server for an anonymous token with an identity (client id and secret).
AskToken = Callable[[dict[str, str]], Awaitable[dict[str, Any]]]


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


class TokenKeeper:
    """The token for one server: from memory, the token file, or a new anonymous one."""

    def __init__(self, token_file: Path, server: str, token: str | None = None) -> None:
        self.token_file = token_file
        self.server = server
        self.token = token
        self._lock = asyncio.Lock()

    async def get(
        self, key: Callable[[], Awaitable[str]], ask: AskToken, renew: bool = False
    ) -> str:
        """The token (``renew``: a new one); ``key`` names the server in the token file."""
        async with self._lock:
            if self.token and not renew:
                return self.token
            server_key = await key()
            store = TokenStore.load(self.token_file)
            saved = store.tokens.get(server_key)
            if not renew and saved and saved.get("token"):
                self.token = str(saved["token"])
                return self.token
            if not store.client_id:
                store.new_identity()
                store.save()
            elif not store.client_secret:
                store.client_secret = secrets.token_urlsafe(32)  # a file from before secrets
                store.save()
            # A server that refused the shared identity has one of its own (below).
            own = {k: v for k, v in (saved or {}).items() if k in ("client_id", "client_secret")}
            ident = own or {"client_id": store.client_id, "client_secret": store.client_secret}
            try:
                data = await ask(ident)
            except (BadRequest, RateLimited) as error:
                # 400: this server does not take the id (missing, corrupt, another
                # client's); 429 for the id: its token, issued before secrets proved ids,
                # is lost.  A new identity for this server only (the shared one keeps
                # the accounts it has elsewhere), asked once more.
                if (
                    isinstance(error, RateLimited)
                    and (error.data or {}).get("reason") != "client_id"
                ):
                    raise
                ident = {"client_id": str(uuid.uuid4()), "client_secret": secrets.token_urlsafe(32)}
                store.tokens[server_key] = {**(saved or {}), **ident, "token": None}
                store.save()
                data = await ask(ident)
            store = TokenStore.load(self.token_file)  # another process may have written meanwhile
            store.tokens[server_key] = {
                **ident,  # renewals for this server prove the identity this token came with
                "token": data["token"],
                "expires_at": data.get("expires_at"),
                "server": self.server,
            }
            store.save()
            self.token = str(data["token"])
            return self.token

"""Remembered voices in the data dir's database, one book per client identity.

The owner of a voice is the client id that tokens are issued to (it outlives
any one token: a renewed or recovered token keeps its voices); one owner's
voices are never listed, matched or changed for another.  The CLI and the
folder watch without a server use the identity of ``<data dir>/client.json``,
the one the app's own backend knows the user by, so every way in shares one
book.

Tables (migration 5 of :mod:`tui.backend.store`): ``voices`` holds each
profile's centroids (embeddings, never audio) with the encoder that made them;
``voiceprints`` holds each transcribed file's speaker prints, so a speaker
renamed later can be remembered without listening again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tui.backend.store import Store, dumps
from tui.engine.script import is_default_speaker_name
from tui.engine.voices import ENCODER, Centroid, Print, Profile, enrol, merge

#: The length of ENCODER's embeddings.
EMBEDDING_SIZE = 192
#: The export file's format marker.
EXPORT_FORMAT = "reelscript-voices/1"


class VoiceError(ValueError):
    """A voice that does not exist, a name taken, or a malformed export (one line, 4xx)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def owner_of_account(store: Store, account: str) -> str:
    """The client id a token's account (its hash, as the API's auth returns it) belongs to."""
    row = store.db.execute("SELECT client_id FROM tokens WHERE hash=?", (account,)).fetchone()
    return str(row["client_id"]) if row else account


class VoiceBook:
    """One owner's voices."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store, self.owner = store, owner

    # -- reading ---------------------------------------------------------------
    def _rows(self) -> list[Any]:
        return self.store.db.execute(
            "SELECT * FROM voices WHERE owner=? ORDER BY name", (self.owner,)
        ).fetchall()

    def listing(self) -> list[dict[str, Any]]:
        """Name, files heard in, last heard (epoch s or None), centroids, and whether it needs a new sample."""
        return [
            {
                "name": row["name"],
                "files": int(row["files"]),
                "last_heard": row["last_heard"],
                "centroids": len(json.loads(row["centroids"])),
                "encoder": row["encoder"],
                "needs_sample": row["encoder"] != ENCODER,
            }
            for row in self._rows()
        ]

    def profiles(self) -> list[Profile]:
        return [_profile(row) for row in self._rows()]

    def any(self) -> bool:
        query = "SELECT 1 FROM voices WHERE owner=? LIMIT 1"
        return self.store.db.execute(query, (self.owner,)).fetchone() is not None

    def find(self, name: str) -> Profile | None:
        wanted = name.strip().casefold()
        return next((p for p in self.profiles() if p.name.casefold() == wanted), None)

    def _need(self, name: str) -> Profile:
        profile = self.find(name)
        if profile is None:
            raise VoiceError(f"no remembered voice is called {name!r}")
        return profile

    # -- changing ----------------------------------------------------------------
    def remember(self, name: str, voice: Print, source: str = "") -> Profile:
        """Learn ``voice`` as ``name`` (a new voice, or one more sample of a known one)."""
        name = voice_name(name)
        profile = enrol(self.find(name), name, voice, source)
        with _tx(self.store) as db:
            db.execute("DELETE FROM voices WHERE owner=? AND name=?", (self.owner, profile.name))
            db.execute(
                "INSERT INTO voices (owner, name, encoder, centroids, files, last_heard,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.owner, profile.name, profile.encoder, _centroids(profile),
                 self._files(profile.name) + 1, time.time(), time.time()),
            )  # fmt: skip
        return profile

    def _files(self, name: str) -> int:
        row = self.store.db.execute(
            "SELECT files FROM voices WHERE owner=? AND name=?", (self.owner, name)
        ).fetchone()
        return int(row["files"]) if row else 0

    def heard(self, names: list[str]) -> None:
        """Count one more file for each of ``names`` (matched in a new script)."""
        with _tx(self.store) as db:
            for name in names:
                db.execute(
                    "UPDATE voices SET files = files + 1, last_heard=? WHERE owner=? AND name=?",
                    (time.time(), self.owner, name),
                )

    def rename(self, old: str, new: str) -> None:
        profile, new = self._need(old), voice_name(new)
        other = self.find(new)
        if other is not None and other.name != profile.name:
            raise VoiceError(f"a voice is already called {other.name!r}: merge them instead", 409)
        with _tx(self.store) as db:
            db.execute(
                "UPDATE voices SET name=? WHERE owner=? AND name=?",
                (new, self.owner, profile.name),
            )

    def forget(self, name: str) -> str:
        """Remove every embedding of ``name``; returns the name as it was stored."""
        profile = self._need(name)
        with _tx(self.store) as db:
            db.execute("DELETE FROM voices WHERE owner=? AND name=?", (self.owner, profile.name))
        return profile.name

    def merge(self, source: str, target: str) -> Profile:
        """``source``'s samples join ``target``'s; ``source`` is gone."""
        src, dst = self._need(source), self._need(target)
        if src.name == dst.name:
            return dst
        joined = merge(dst, src)
        with _tx(self.store) as db:
            db.execute(
                "UPDATE voices SET centroids=?, files = files + (SELECT files FROM voices"
                " WHERE owner=? AND name=?) WHERE owner=? AND name=?",
                (_centroids(joined), self.owner, src.name, self.owner, dst.name),
            )
            db.execute("DELETE FROM voices WHERE owner=? AND name=?", (self.owner, src.name))
        return joined

    # -- moving between machines -------------------------------------------------
    def export(self) -> dict[str, Any]:
        voices = []
        for row in self._rows():
            voices.append({"name": row["name"], "encoder": row["encoder"],
                           "centroids": json.loads(row["centroids"]), "files": row["files"],
                           "last_heard": row["last_heard"]})  # fmt: skip
        return {"format": EXPORT_FORMAT, "voices": voices}

    def import_(self, data: Any) -> list[str]:
        """Add an export's voices (one of the same name takes the imported samples too)."""
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise VoiceError(f"not a voices export (format {EXPORT_FORMAT})", 400)
        names = []
        try:
            for item in data.get("voices") or []:
                name = voice_name(str(item["name"]))
                centroids = [Centroid.from_dict(c) for c in item["centroids"]]
                size = EMBEDDING_SIZE if item["encoder"] == ENCODER else len(centroids[0].vector)
                if any(len(c.vector) != size or not np.isfinite(c.vector).all() for c in centroids):
                    raise ValueError(f"{name}: vectors must be {size} finite numbers")
                incoming = Profile(name, str(item["encoder"]), centroids)
                names.append(self._take(incoming, int(item.get("files") or 0)))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise VoiceError(f"malformed voices export: {exc}", 400) from exc
        return names

    def _take(self, incoming: Profile, files: int) -> str:
        known = self.find(incoming.name)
        joined = merge(known, incoming) if known and known.encoder == incoming.encoder else incoming
        with _tx(self.store) as db:
            db.execute("DELETE FROM voices WHERE owner=? AND name=?", (self.owner, joined.name))
            db.execute(
                "INSERT INTO voices (owner, name, encoder, centroids, files, last_heard,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.owner, joined.name, joined.encoder, _centroids(joined), files, None,
                 time.time()),
            )  # fmt: skip
        return joined.name


# -- a file's speaker prints ----------------------------------------------------------
def save_prints(store: Store, video_id: str, prints: dict[str, Print], source: str) -> None:
    with _tx(store) as db:
        db.execute("DELETE FROM voiceprints WHERE video_id=?", (video_id,))
        for speaker, voice in prints.items():
            db.execute(
                "INSERT INTO voiceprints (video_id, speaker, encoder, vector, seconds, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (video_id, speaker, ENCODER, dumps([round(float(x), 6) for x in voice.vector]),
                 float(voice.seconds), source),
            )  # fmt: skip


def print_of(store: Store, video_id: str, speaker: str) -> tuple[Print, str] | None:
    """The stored print of one speaker of a file, with its recording's source; None if none."""
    row = store.db.execute(
        "SELECT * FROM voiceprints WHERE video_id=? AND speaker=? AND encoder=?",
        (video_id, speaker, ENCODER),
    ).fetchone()
    if row is None:
        return None
    vector = np.asarray(json.loads(row["vector"]), dtype=np.float32)
    return Print(vector, float(row["seconds"])), str(row["source"])


@contextmanager
def _tx(store: Store) -> Iterator[Any]:
    """A write transaction, or the one this thread's connection is already in (a
    message's actions run inside one)."""
    if store.db.in_transaction:
        yield store.db
    else:
        with store.tx() as db:
            yield db


def _profile(row: Any) -> Profile:
    centroids = [Centroid.from_dict(c) for c in json.loads(row["centroids"])]
    return Profile(row["name"], row["encoder"], centroids)


def _centroids(profile: Profile) -> str:
    return dumps([c.to_dict() for c in profile.centroids])


def voice_name(name: str) -> str:
    """``name`` as a voice is called (spaces tidied), or VoiceError why it cannot be one."""
    name = " ".join(str(name).split())
    if not name or len(name) > 100:
        raise VoiceError("a voice's name must be 1-100 characters", 400)
    if is_default_speaker_name(name):  # a later file's "Speaker 1" would be two people
        raise VoiceError(
            f"{name!r} is what unnamed speakers are called: give the voice a name of its own", 400
        )
    return name


# -- the worker's side -------------------------------------------------------------------
def book_for_job(store: Store, job: Any) -> VoiceBook:
    """The voice book of the identity a job's token belongs to."""
    return VoiceBook(store, owner_of_account(store, str(job["token"])))


def after_job(store: Store, book: VoiceBook, video_id: str, script: Any, source: str) -> None:
    """Keep a finished script's speaker prints, and count the files its matched voices spoke in."""
    if script.voiceprints:
        save_prints(store, video_id, script.voiceprints, source)
    if script.speaker_matches:
        book.heard(sorted({m["voice"] for m in script.speaker_matches.values()}))

"""Errors the engine raises for bad input, each with an API code and a CLI exit code.

Every error carries a one-line, human message that names the file and the
reason; callers show ``str(error)`` and never a traceback (a name with a
newline or tab in it printed through :func:`one_line`, so it stays one line).
"""

from __future__ import annotations

import unicodedata


class EngineError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""

    #: The error code of docs/api.md that the backend answers with.
    api_code = 500
    #: The process exit code of ``reelscript transcribe``.
    exit_code = 1

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class MediaNotFound(EngineError):
    api_code = 1002
    exit_code = 3


class EmptyMedia(EngineError):
    api_code = 4001
    exit_code = 4


class UnsupportedMedia(EngineError):
    """Not a media file we can decode (text named .mp4, truncated/corrupt file)."""

    api_code = 4001
    exit_code = 5


class NoAudioStream(EngineError):
    """A video without any audio stream: accepted, but cannot be scripted."""

    api_code = 4001
    exit_code = 6


class MediaTooLarge(EngineError):
    api_code = 4002
    exit_code = 7


class OutputNotWritable(EngineError):
    api_code = 500
    exit_code = 8


class ModelUnavailable(EngineError):
    """The asked-for model is neither bundled, nor a local folder, nor downloadable."""

    api_code = 422
    exit_code = 9


class CannotTranslate(ModelUnavailable):
    """Translation to English was asked of an English-only model (e.g. the bundled tiny.en)."""


class Cancelled(EngineError):
    api_code = 499
    exit_code = 130


class NoSpeechFound(EngineError):
    """Only silence (or noise): a script is still written, saying no speech was found."""

    api_code = 0
    exit_code = 10


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def one_line(text: str) -> str:
    """``text`` with control characters (and line separators) written as escapes."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)

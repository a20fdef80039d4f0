"""Probe an uploaded file: what it is (judged by content), how long, its size.

Uses the engine's :func:`tui.engine.media.probe`, so the backend accepts
exactly what the engine can decode; its errors become API errors (4001).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tui.backend.errors import Unsupported

SUPPORTED = "mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac (and jpg/png/gif/webp as stills)"


def probe_media(path: Path) -> dict[str, Any]:
    """``{duration_ms, width, height, has_audio, format}`` of a file, or raise 4001."""
    from tui.engine import errors as engine_errors
    from tui.engine.media import probe

    try:
        # No size limit here: the upload already enforced the server's own limit.
        info = probe(path, max_bytes=None)
    except engine_errors.EngineError as exc:
        raise Unsupported(
            f"unsupported or undecodable file ({_reason(exc)}); supported: {SUPPORTED}",
            data={"supported": SUPPORTED},
        ) from exc
    fields = dataclasses.asdict(info) if dataclasses.is_dataclass(info) else dict(vars(info))
    return {
        "duration_ms": _int_or_none(fields.get("duration_ms")),
        "width": _int_or_none(fields.get("width")),
        "height": _int_or_none(fields.get("height")),
        "has_audio": bool(fields.get("has_audio")),
        "format": str(fields.get("format") or "bin"),
    }


def _reason(exc: Exception) -> str:
    text = str(exc)
    path = getattr(exc, "path", None)
    if path and text.startswith(f"{path}: "):
        text = text[len(str(path)) + 2 :]  # the temp file's name means nothing to the user
    return text


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)

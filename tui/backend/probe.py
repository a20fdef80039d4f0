"""Probe an uploaded file: what it is (judged by content), how long, its size.

Uses the engine's :func:`tui.engine.media.probe`, so the backend accepts
exactly what the engine can decode; its errors become API errors (4001).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tui.backend.errors import Unsupported, engine_reason
from tui.engine.media_kinds import MEDIA_FORMATS, STILL_FORMATS, SUPPORTED_HELP

#: The formats docs/api.md lists, from the engine's own lists (so the two never disagree).
SUPPORTED = f"{', '.join(MEDIA_FORMATS)} (and {'/'.join(STILL_FORMATS)} as stills)"


def probe_media(path: Path) -> dict[str, Any]:
    """``{duration_ms, width, height, has_audio, format}`` of a file, or raise 4001."""
    from tui.engine import errors as engine_errors
    from tui.engine.media import probe

    try:
        # No size limit here: the upload already enforced the server's own limit.
        info = probe(path, max_bytes=None)
    except engine_errors.EngineError as exc:
        reason = _reason(exc)
        if reason.startswith("damaged"):  # a supported format, cut short: no list of formats
            raise Unsupported(reason, data={"supported": SUPPORTED, "damaged": True}) from exc
        raise Unsupported(
            f"unsupported or undecodable file: {reason}; supported: {SUPPORTED}",
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
    """The engine's reason, less the temp file's name and less its own list of formats
    (the backend's message ends with that list, once)."""
    text = engine_reason(exc)
    for tail in (f"; {SUPPORTED_HELP}", SUPPORTED_HELP):
        text = text.replace(tail, "")
    return text.strip().rstrip(";,").strip() or "unreadable"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)

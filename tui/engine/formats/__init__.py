"""Export writers, one module per format, behind one :func:`write`.

``write(script, fmt, dest)`` is what the CLI, the backend's export and the
folder watcher all call.  Every writer writes a temp file in the destination
folder and renames it into place, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tui.engine.errors import OutputNotWritable, UnsupportedMedia
from tui.engine.formats import (
    captioned,
    document,
    fountain,
    markdown,
    plain,
    rttm,
    subtitles,
    video,
)
from tui.engine.formats.common import atomic_path, atomic_write_text
from tui.engine.script import Script

#: Every format ``write`` knows, in the order the CLI lists them.
FORMATS = ("md", "txt", "srt", "vtt", "json", "docx", "fountain", "mp4", "captioned", "rttm")

_TEXT_RENDERERS = {
    "md": markdown.render,
    "txt": plain.render,
    "srt": subtitles.render_srt,
    "vtt": subtitles.render_vtt,
    "json": plain.render_json,
    "fountain": fountain.render,
    "rttm": rttm.render,
}


def parse_formats(text: str) -> list[str]:
    """``"md, srt"`` -> ``["md", "srt"]``; raises ValueError naming an unknown format."""
    wanted = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if not wanted:
        raise ValueError(f"no format given; choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(wanted))


def output_name(source: str | Path, fmt: str) -> str:
    """The output file name for ``source`` in ``fmt``: ``<stem>.<ext>`` (``<stem>.captioned.mp4``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    ext = "captioned.mp4" if fmt == "captioned" else fmt
    return f"{Path(source).stem or 'script'}.{ext}"


def write(
    script: Script,
    fmt: str,
    dest: str | Path,
    *,
    source_media: str | Path | None = None,
    timestamps: bool = True,
    resolution: str = "1080p",
    fit: str = "blur",
    progress: captioned.Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``script`` as ``fmt`` to ``dest`` (a file, or a folder to put ``<stem>.<ext>`` in).

    ``source_media`` is the original file: needed for ``mp4`` (its streams are
    copied) and ``captioned`` (re-encoded with the captions in the picture, at
    ``resolution``, fitted by ``fit``, reporting ``progress``, stopped by
    ``cancel``), and used to name the output when ``dest`` is a folder.  Raises
    :class:`OutputNotWritable` when the destination cannot be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    target = Path(dest)
    if target.is_dir():
        target = target / output_name(source_media or script.source or "script", fmt)
    if fmt in _TEXT_RENDERERS:
        atomic_write_text(target, _TEXT_RENDERERS[fmt](script, timestamps=timestamps))
    elif fmt == "docx":
        with atomic_path(target) as tmp:
            document.write_docx(script, tmp, timestamps=timestamps)
    else:  # mp4, captioned
        if source_media is None:
            raise UnsupportedMedia(f"an {fmt} export needs the source video", str(target))
        if target.exists() and target.resolve() == Path(source_media).resolve():
            raise OutputNotWritable(
                "the mp4 export would replace its own source video; "
                "write it to another folder (-o)",
                str(target),
            )
        with atomic_path(target) as tmp:
            if fmt == "captioned":
                captioned.write_captioned(
                    script,
                    Path(source_media),
                    tmp,
                    resolution=resolution,
                    fit=fit,
                    progress=progress,
                    cancel=cancel,
                )
            else:
                video.write_mp4(script, Path(source_media), tmp)
    return target


__all__ = ["FORMATS", "OutputNotWritable", "output_name", "parse_formats", "write"]

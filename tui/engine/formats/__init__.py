"""Export writers, one module per format, behind one :func:`write`.

``write(script, fmt, dest)`` is what the CLI and the backend's export call;
the formats and their file names come from :mod:`tui.engine.formats.names`.
Every writer writes a temp file in the destination folder and renames it into
place, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tui.engine.errors import OutputNotWritable, UnsupportedMedia
from tui.engine.formats import document, fountain, markdown, plain, rttm, subtitles
from tui.engine.formats.common import atomic_path, atomic_write_text
from tui.engine.formats.names import FORMATS, output_name, output_suffix, parse_formats
from tui.engine.script import Script

if TYPE_CHECKING:
    from tui.engine.formats.captioned import Progress

_TEXT_RENDERERS = {
    "md": markdown.render,
    "txt": plain.render,
    "srt": subtitles.render_srt,
    "vtt": subtitles.render_vtt,
    "json": plain.render_json,
    "fountain": fountain.render,
    "rttm": rttm.render,
}


def write(
    script: Script,
    fmt: str,
    dest: str | Path,
    *,
    source_media: str | Path | None = None,
    timestamps: bool = True,
    resolution: str = "1080p",
    fit: str = "blur",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``script`` as ``fmt`` to ``dest`` (a file, or a folder to put :func:`output_name` in).

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
        # Imported here, not at the top: they load PyAV, Pillow and numpy, which
        # whoever only writes text (or names formats, like the app) never needs.
        from tui.engine.formats import captioned, video

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


__all__ = ["FORMATS", "OutputNotWritable", "output_name", "output_suffix", "parse_formats", "write"]

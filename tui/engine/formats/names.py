"""The export formats and the one rule naming their files: every part of reelscript uses these.

The CLI's ``transcribe``, the backend's exports, the app's export dialog and
the folder watcher all list formats from :data:`FORMATS`, read ``--format``
lists with :func:`parse_formats` and name outputs with :func:`output_name`:

- ``<stem>.<format>`` for every text format (``talk.md``, ``talk.srt``, ...);
- ``<stem>.script.mp4`` for ``mp4`` (the source with the script as a subtitle
  track), so that it never replaces the video it was made from;
- ``<stem>.captioned.mp4`` for ``captioned`` (the captions in the picture).

Nothing here imports a media library, so the app can use it without loading PyAV.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: Every export format, in the order they are listed to users.
FORMATS = ("md", "txt", "srt", "vtt", "json", "docx", "fountain", "mp4", "captioned", "rttm")

#: The ``captioned`` export's frames, as users name them -> as the API names them.
FRAMES = {"16:9": "1080p", "9:16": "1080x1920", "source": "source"}
#: How a picture of another shape fills the captioned export's frame.
FITS = ("blur", "crop")

#: The file name endings that are not simply ``.<format>``.
_SUFFIXES = {"mp4": ".script.mp4", "captioned": ".captioned.mp4"}


def parse_formats(text: str | Iterable[str], allowed: tuple[str, ...] = FORMATS) -> tuple[str, ...]:
    """``"md, SRT,md"`` -> ``("md", "srt")``: validated against ``allowed``, in the order
    given, without repeats; raises ValueError naming an unknown format."""
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = [f.strip().lower().lstrip(".") for f in items if f.strip()]
    unknown = [f for f in wanted if f not in allowed]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}; choose from {', '.join(allowed)}")
    if not wanted:
        raise ValueError(f"no format given; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(wanted))


def output_suffix(fmt: str) -> str:
    """``.md`` for md; ``.script.mp4`` for mp4 and ``.captioned.mp4`` for captioned."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    return _SUFFIXES.get(fmt, f".{fmt}")


def output_name(source: str | Path, fmt: str) -> str:
    """The output file name for ``source`` in ``fmt``: ``<stem>`` + :func:`output_suffix`."""
    return f"{Path(source).stem or 'script'}{output_suffix(fmt)}"


def output_format(path: str | Path) -> str:
    """The format of an output file's name (the inverse of :func:`output_suffix`)."""
    name = Path(path).name
    for fmt, suffix in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    return Path(name).suffix.lstrip(".")


def formats_help(formats: tuple[str, ...] = FORMATS) -> str:
    """The ``--format`` option's help: the formats, and the names of the two video ones."""
    notes = {
        "mp4": "mp4 (<name>.script.mp4, the script as a subtitle track)",
        "captioned": "captioned (<name>.captioned.mp4, the captions in the picture)",
    }
    return "comma-separated: " + ", ".join(notes.get(f, f) for f in formats)

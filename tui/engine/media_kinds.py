"""The media kinds reelscript takes, by name: one list for the engine, the backend, the app and watch.

The engine and the backend judge a file by its content (:func:`tui.engine.media.probe`);
these names are what the app's file browser lists, what the folder watcher
watches and what error messages call supported.  Stills are accepted by the
backend but have no speech, so they are neither listed nor watched.  Nothing
here imports a media library.
"""

from __future__ import annotations

from pathlib import Path

#: Media formats we script, and stills we accept (with no audio).
MEDIA_FORMATS = ("mp4", "mov", "avi", "webm", "mkv", "mp3", "wav", "m4a", "aac")
STILL_FORMATS = ("jpg", "png", "gif", "webp")
SUPPORTED_HELP = "supported: " + ", ".join(MEDIA_FORMATS + STILL_FORMATS)

#: The file name endings of :data:`MEDIA_FORMATS`.
MEDIA_SUFFIXES = frozenset(f".{fmt}" for fmt in MEDIA_FORMATS)


def is_media(path: Path) -> bool:
    """Whether ``path``'s name is one of the media formats (the content is judged later)."""
    return path.suffix.lower() in MEDIA_SUFFIXES

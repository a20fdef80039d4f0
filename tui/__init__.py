"""reelscript: video in, speaker-labelled script out, offline, from the terminal."""

from __future__ import annotations

__version__ = "0.1.0"

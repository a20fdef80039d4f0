"""Times as people read them: the one place a millisecond count becomes a clock.

:func:`clock` is the script's stamp (``[00:01:23]`` in every text export and in
the app's editor); :func:`short_clock` is the compact form of the app's
timeline ruler (``1:23``, ``1:01:23``).
"""

from __future__ import annotations


def clock(ms: int) -> str:
    """``83000`` -> ``"00:01:23"``."""
    s = max(0, int(ms)) // 1000
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def short_clock(ms: int) -> str:
    """``83000`` -> ``"1:23"``; from an hour on ``"1:01:23"``."""
    seconds = max(0, int(ms)) // 1000
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"

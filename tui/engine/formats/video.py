"""MP4 export: the source media with the script as a soft subtitle track (mov_text).

The source's video and audio packets are copied as they are (no re-encoding,
so it is fast and lossless); the subtitle cues are the same as the SRT
export's, as timed mov_text samples.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from tui.engine.errors import UnsupportedMedia
from tui.engine.formats.subtitles import build_cues
from tui.engine.script import Script

_MS = Fraction(1, 1000)


def write_mp4(script: Script, source: Path, path: Path) -> None:
    try:
        with (
            av.open(str(source), metadata_errors="ignore") as src,
            av.open(str(path), "w", format="mp4") as out,
        ):
            _remux(script, src, out)
    except (av.FFmpegError, ValueError) as exc:
        raise UnsupportedMedia(
            f"cannot copy its streams into an mp4 with subtitles ({exc}); "
            "export srt or vtt instead",
            str(source),
        ) from None


def _remux(script: Script, src: Any, out: Any) -> None:
    copied = [s for s in src.streams if s.type in ("video", "audio")]
    if not copied:
        raise UnsupportedMedia("has no audio or video to put subtitles on", str(src.name))
    mapping = {s.index: out.add_stream_from_template(s) for s in copied}
    subs = out.add_stream("mov_text")
    subs.time_base = _MS
    language = (script.language or "und")[:3]
    subs.metadata["language"] = language
    subs.metadata["title"] = "Script"
    for cue in build_cues(script):
        text = "\n".join(cue.lines).encode("utf-8")
        # A mov_text sample is a 16-bit big-endian length followed by UTF-8 text.
        packet = av.Packet(struct.pack(">H", len(text)) + text)
        packet.stream = subs
        packet.time_base = _MS
        packet.pts = packet.dts = cue.start_ms
        packet.duration = max(1, cue.end_ms - cue.start_ms)
        out.mux(packet)
    for packet in src.demux(*copied):
        if packet.dts is None:  # the demuxer's end-of-stream marker
            continue
        packet.stream = mapping[packet.stream.index]
        out.mux(packet)

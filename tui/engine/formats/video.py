"""MP4 export: the source media with the script as a soft subtitle track (mov_text).

The source's video and audio packets are copied as they are (fast, lossless).
Only a stream whose codec the MP4 container cannot hold (VP8 video from a
WebM, say) is re-encoded, to H.264 or AAC.  The subtitle cues are the SRT
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

# The mov_text encoder must be opened with an ASS header (FFmpeg's default one);
# our samples carry plain text, so no styles beyond the default are used.
_ASS_HEADER = (
    b"[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n"
    b"[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    b"OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    b"Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0"
    b"\r\n\r\n[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
    b"Effect, Text\r\n"
)


def write_mp4(script: Script, source: Path, path: Path) -> None:
    try:
        with (
            av.open(str(source), metadata_errors="ignore") as src,
            av.open(str(path), "w", format="mp4") as out,
        ):
            _remux(script, src, out)
    except (av.FFmpegError, ValueError) as exc:
        raise UnsupportedMedia(
            f"cannot make an mp4 with subtitles from it ({exc}); export srt or vtt instead",
            str(source),
        ) from None


def _remux(script: Script, src: Any, out: Any) -> None:
    streams = [s for s in src.streams if s.type in ("video", "audio")]
    if not streams:
        raise UnsupportedMedia("has no audio or video to put subtitles on", str(src.name))
    copy: dict[int, Any] = {}
    recode: dict[int, Recoder] = {}
    for s in streams:
        if s.codec_context.name in out.supported_codecs:
            copy[s.index] = out.add_stream_from_template(s)
        else:
            recode[s.index] = Recoder(s, out)
    subs = out.add_stream("mov_text")
    subs.codec_context.subtitle_header = _ASS_HEADER
    subs.time_base = _MS
    subs.metadata["language"] = _iso639_2(script.language)
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
    for packet in src.demux(*streams):
        index = packet.stream.index
        if index in recode:
            recode[index].feed(packet)
        elif packet.dts is not None:  # dts None: the demuxer's end-of-stream marker
            packet.stream = copy[index]
            out.mux(packet)
    for recoder in recode.values():
        recoder.feed(None)


class Recoder:
    """Re-encode one stream the container cannot hold (H.264 for video, AAC for audio)."""

    def __init__(self, source: Any, out: Any) -> None:
        self.out = out
        self.resampler = None
        self.next_pts: int | None = None
        if source.type == "video":
            rate = source.average_rate or source.guessed_rate or 25
            self.stream = out.add_stream("libx264", rate=rate)
            cc = source.codec_context
            self.stream.width, self.stream.height = cc.width, cc.height
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"preset": "veryfast", "crf": "23"}
        else:
            rate = source.codec_context.sample_rate or 48000
            self.stream = out.add_stream("aac", rate=rate)
            # Layouts like "1 channels" (order unknown) are not valid for the encoder.
            channels = len(source.codec_context.layout.channels)
            self.stream.layout = "mono" if channels == 1 else "stereo"
            self.stream.bit_rate = 64_000 * min(channels, 2)
            self.resampler = av.AudioResampler(format="fltp", layout=self.stream.layout, rate=rate)

    def feed(self, packet: Any) -> None:
        """Encode one packet's frames; ``None`` flushes the resampler and the encoder."""
        frames: list[Any] = packet.decode() if packet is not None else [None]
        for frame in frames:
            outs: list[Any]
            if self.resampler is not None:
                outs = list(self.resampler.resample(frame))
            else:
                if frame is not None:
                    frame.pict_type = av.video.frame.PictureType.NONE
                outs = [frame.reformat(format="yuv420p") if frame is not None else None]
            if frame is None and self.resampler is not None:
                outs.append(None)
            if self.resampler is not None:
                outs = [self._timed(f) if f is not None else None for f in outs]
            for f in outs:
                for encoded in self.stream.encode(f):
                    self.out.mux(encoded)

    def _timed(self, frame: Any) -> Any:
        """Stamp a resampled frame in samples, counted on from the first one's time.

        Some containers (AVI) time audio in packets of the source's frame size; the
        encoder's frames are another size, and their stamps would collide.
        """
        rate = self.stream.rate
        if self.next_pts is None:
            start = frame.pts * frame.time_base if frame.pts is not None else 0
            self.next_pts = round(start * rate)
        frame.pts, frame.time_base = self.next_pts, Fraction(1, rate)
        self.next_pts += frame.samples
        return frame


def _iso639_2(language: str) -> str:
    """MP4 stores three-letter language codes."""
    codes = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "zh": "zho"}
    codes.update({"ja": "jpn", "pt": "por", "ru": "rus", "nl": "nld", "ko": "kor"})
    return codes.get(language, "und")

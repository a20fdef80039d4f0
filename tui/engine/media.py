"""Media probing and streaming audio decoding (PyAV).

:func:`probe` says what a file is by reading its content (never its name) and
raises the errors of :mod:`tui.engine.errors` for anything we cannot use.
:func:`decode_audio` turns the file's first audio stream into 16 kHz mono
float32 samples, demuxing only that stream and resampling frame by frame, so
memory grows with the audio's length (64 KB per second) and never with the
size of the video.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from tui.engine.errors import (
    Cancelled,
    EmptyMedia,
    MediaNotFound,
    MediaTooLarge,
    NoAudioStream,
    UnsupportedMedia,
)
from tui.engine.media_kinds import STILL_FORMATS, SUPPORTED_HELP

SAMPLE_RATE = 16000
DEFAULT_MAX_BYTES = 500 * 1024 * 1024

# FFmpeg demuxer name -> the format names it can stand for.  The file's content
# picks the demuxer; only where one demuxer serves several names (mp4/mov/m4a,
# mkv/webm) do the brand, the streams or the file's extension choose between them.
_DEMUXERS: dict[str, tuple[str, ...]] = {
    "mov,mp4,m4a,3gp,3g2,mj2": ("mp4", "mov", "m4a"),
    "matroska,webm": ("mkv", "webm"),
    "avi": ("avi",),
    "mp3": ("mp3",),
    "wav": ("wav",),
    "aac": ("aac",),
    "image2": ("jpg", "png", "gif", "webp"),
    "jpeg_pipe": ("jpg",),
    "png_pipe": ("png",),
    "gif": ("gif",),
    "webp_pipe": ("webp",),
}
_EXT_ALIASES = {"jpeg": "jpg", "m4v": "mp4", "qt": "mov"}
_CODECS_WEBM = {"vp8", "vp9", "av1", "opus", "vorbis"}

ProgressFn = Callable[[float], None]


@dataclass
class MediaInfo:
    """What an upload entry of docs/api.md says about a file (less its ``video_id``)."""

    name: str
    size: int
    duration_ms: int
    width: int
    height: int
    has_audio: bool
    format: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_still(self) -> bool:
        return self.format in STILL_FORMATS


def check_file(path: str | Path, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Path:
    """Check that ``path`` is an existing, non-empty file within the size limit."""
    p = Path(path)
    if not p.exists():
        raise MediaNotFound("no such file", str(path))
    if not p.is_file():
        raise UnsupportedMedia("not a file", str(path))
    size = p.stat().st_size
    if size == 0:
        raise EmptyMedia("the file is empty (0 bytes)", str(path))
    if max_bytes is not None and size > max_bytes:
        raise MediaTooLarge(
            f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit "
            "(raise it with --max-size-mb, or trim/compress the file)",
            str(path),
        )
    return p


def _open(path: Path) -> Any:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        kind = _looks_like(path)
        if kind:  # a known container that will not open: cut short or corrupted
            raise UnsupportedMedia(
                f"damaged or incomplete: it starts as {kind} but cannot be read "
                f"({_reason(exc)}); was it copied or downloaded completely?",
                str(path),
            ) from None
        raise UnsupportedMedia(
            f"not a media file we can read ({_reason(exc)}); {SUPPORTED_HELP}", str(path)
        ) from None


#: How the supported containers begin: (offset, magic bytes, what it is).
_SIGNATURES = (
    (4, b"ftyp", "an mp4/mov/m4a file"),
    (4, b"moov", "an mp4/mov file"),
    (4, b"mdat", "an mp4/mov file"),
    (0, b"\x1a\x45\xdf\xa3", "a webm/mkv file"),
    (0, b"RIFF", "a wav/avi file"),
    (0, b"ID3", "an mp3 file"),
)


def _looks_like(path: Path) -> str:
    """What a file's first bytes say it is ("" when they match no supported container)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return ""
    return next((kind for at, magic, kind in _SIGNATURES if head[at:].startswith(magic)), "")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).split(":")[-1].strip().rstrip(".").lower() or "unreadable"


def probe(path: str | Path, max_bytes: int | None = DEFAULT_MAX_BYTES) -> MediaInfo:
    """Describe a media file from its content; raise an EngineError if it is unusable.

    Fast: reads the container header and decodes at most one audio frame (which
    catches files whose header is fine but whose audio is not).  A file with no
    audio stream is returned with ``has_audio=False`` (the caller decides).
    """
    p = check_file(path, max_bytes)
    with _open(p) as container:
        fmt = _format_name(container, p)
        if fmt is None:
            raise UnsupportedMedia(
                f"{container.format.long_name or container.format.name} is not a supported "
                f"format; {SUPPORTED_HELP}",
                str(path),
            )
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise UnsupportedMedia(f"no audio or video stream; {SUPPORTED_HELP}", str(path))
        # An audio stream with no sound in it is no audio: accepted, not scriptable.
        has_audio = (
            audio is not None and fmt not in STILL_FORMATS and _audio_decodes(container, audio, p)
        )
        if not has_audio and video is not None:
            # Nothing else was decoded: make sure the picture is one (a text file named
            # .jpg opens as an "image", and only decoding tells).
            _check_video_decodes(container, video, p)
        duration_ms = _duration_ms(container, audio or video)
        if container.format.name == "aac" and audio is not None:
            duration_ms = _count_duration_ms(p)
        return MediaInfo(
            name=p.name,
            size=p.stat().st_size,
            duration_ms=0 if fmt in STILL_FORMATS and fmt != "gif" else duration_ms,
            width=int(video.codec_context.width or 0) if video is not None else 0,
            height=int(video.codec_context.height or 0) if video is not None else 0,
            has_audio=has_audio,
            format=fmt,
        )


def _format_name(container: Any, path: Path) -> str | None:
    names = _DEMUXERS.get(container.format.name)
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    ext = path.suffix.lower().lstrip(".")
    ext = _EXT_ALIASES.get(ext, ext)
    if ext in names:
        return ext
    if "m4a" in names:
        brand = str(container.metadata.get("major_brand", "")).strip().lower()
        if not container.streams.video or brand.startswith("m4a"):
            return "m4a"
        return "mov" if brand == "qt" else "mp4"
    if "webm" in names:
        codecs = {s.codec_context.name for s in container.streams if s.type in ("audio", "video")}
        return "webm" if codecs and codecs <= _CODECS_WEBM else "mkv"
    return names[0]


def _duration_ms(container: Any, stream: Any) -> int:
    if container.duration:
        return int(container.duration * 1000 // av.time_base)
    if stream is not None and stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * 1000)
    return 0


def _count_duration_ms(path: Path) -> int:
    """Exact length of a raw ADTS stream, whose header has none (FFmpeg guesses it from
    the bitrate): sum the packets' durations, demuxing without decoding."""
    with _open(path) as container:
        stream = container.streams.audio[0]
        total = sum(p.duration or 0 for p in container.demux(stream) if p.size)
        return int(total * stream.time_base * 1000) if stream.time_base else 0


def _audio_decodes(container: Any, audio: Any, path: Path) -> bool:
    """True when the audio stream's first packets decode; False when it holds none."""
    try:
        for n, packet in enumerate(container.demux(audio)):
            if packet.size and packet.decode():
                return True
            if n > 200:
                break
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UnsupportedMedia(
            f"the audio cannot be decoded ({_reason(exc)}); the file may be corrupt", str(path)
        ) from None
    return False


def _check_video_decodes(container: Any, video: Any, path: Path) -> None:
    try:
        container.seek(0)  # the audio check may have read past the first pictures
    except (av.FFmpegError, OSError, ValueError):
        pass  # not seekable: read on from where we are
    try:
        for n, packet in enumerate(container.demux(video)):
            for frame in packet.decode():
                if frame.width and frame.height:
                    return
            if n > 200:
                break
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UnsupportedMedia(
            f"not a picture or video we can decode ({_reason(exc)}); {SUPPORTED_HELP}",
            str(path),
        ) from None
    raise UnsupportedMedia(f"holds no decodable picture; {SUPPORTED_HELP}", str(path))


def decode_audio(
    path: str | Path,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32, streaming.

    Only the audio stream's packets are demuxed and decoded (video packets are
    skipped unread by the decoder); each frame is resampled as it arrives.
    Raises :class:`NoAudioStream`, or :class:`UnsupportedMedia` when the
    audio is corrupt or the file is cut short.
    """
    p = check_file(path, max_bytes)
    with _open(p) as container:
        if not container.streams.audio:
            raise NoAudioStream("has no audio stream, so there is nothing to transcribe", str(p))
        stream = container.streams.audio[0]
        # Let FFmpeg skip everything else at the demuxer level.
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all  # PyAV 18 takes the enum, not "all"
        expected_ms = _duration_ms(container, stream)
        # Raw ADTS/MP3 streams have no index: FFmpeg guesses their length from the
        # bitrate, so a shortfall there says nothing about truncation.
        indexed = container.format.name not in ("aac", "mp3")
        # Sized from the header with a margin (encoder priming, rounding), so that
        # the buffer normally never has to grow, and so never exists twice.
        buf = _Growable(int(expected_ms * SAMPLE_RATE / 1000 * 1.01) + SAMPLE_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        last_report = 0.0
        try:
            for packet in container.demux(stream):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled", str(p))
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        buf.append(out.to_ndarray()[0])
                if progress is not None and expected_ms:
                    done = min(1.0, buf.size / SAMPLE_RATE * 1000 / expected_ms)
                    if done - last_report >= 0.02:
                        last_report = done
                        progress(done)
            for out in resampler.resample(None):
                buf.append(out.to_ndarray()[0])
        except (av.FFmpegError, OSError) as exc:
            raise UnsupportedMedia(
                f"the audio is corrupt at {buf.size / SAMPLE_RATE:.1f} s ({_reason(exc)})", str(p)
            ) from None
    audio = buf.result()
    decoded_ms = audio.size * 1000 // SAMPLE_RATE
    # A header promising far more than the stream delivers means a cut-short file.
    if indexed and expected_ms > 2000 and decoded_ms < 0.9 * expected_ms - 1000:
        raise UnsupportedMedia(
            f"the file is truncated or corrupt: {decoded_ms / 1000:.1f} s of audio "
            f"decoded where the header says {expected_ms / 1000:.1f} s",
            str(p),
        )
    if progress is not None:
        progress(1.0)
    return audio


class _Growable:
    """A float32 buffer that grows by a quarter when it must, and shrinks in place at the end."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(capacity, SAMPLE_RATE), dtype=np.float32)
        self.size = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self.size + chunk.size
        if end > self._data.size:
            grown = np.empty(max(end, self._data.size * 5 // 4), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = chunk
        self.size = end

    def result(self) -> np.ndarray:
        # Shrink in place (realloc) rather than copying the whole hour of audio.
        self._data.resize(self.size, refcheck=False)
        return self._data

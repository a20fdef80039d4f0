"""MP4 with the captions burned into the picture, for players that ignore subtitle tracks.

The source is decoded with PyAV a packet at a time, each picture fitted to the
chosen frame by an FFmpeg filter graph (scaled; for another shape, either
cropped to fill it or laid over a blurred, enlarged copy of itself), the
current caption blended into it (see :mod:`caption_draw`), and encoded with
libx264 (yuv420p, ``+faststart``: plays on every phone, starts before it has
fully downloaded).  Memory stays flat whatever the video's length: nothing
but the current frame, the encoder's look-ahead and one caption is held.

The audio packets are copied as they are when they are AAC, else encoded to
AAC once.  Video frames keep their source timestamps, so picture,
captions and sound stay where they were.  A source with no picture (a
recording) gets a plain dark background at 30 frames per second.

Captions are the SRT export's cues (``subtitles.build_cues``: at most two
lines, 1 to 7 seconds, one speaker each, the name where the speaker changes),
with lines cut shorter for the narrow vertical frame.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from tui.engine.errors import Cancelled, OutputNotWritable, UnsupportedMedia
from tui.engine.formats import caption_draw
from tui.engine.formats.caption_draw import Blender, Layout
from tui.engine.formats.names import FITS
from tui.engine.formats.subtitles import build_cues
from tui.engine.formats.video import Recoder
from tui.engine.script import Script

#: ``output.resolution`` of the API -> frame size (None: the source's own).
RESOLUTIONS: dict[str, tuple[int, int] | None] = {
    "1080p": (1920, 1080),
    "1080x1920": (1080, 1920),
    "source": None,
}
AUDIO_ONLY_RATE = 30
#: Audio copied as it is.  MP3 is re-encoded: MP4 loses its encoder-delay tag, which
#: would leave the sound about 25 ms late.
COPIED_AUDIO = ("aac",)
_FULL_DISK = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)

#: ``progress(fraction, eta_s)``, called a few times a second at most.
Progress = Callable[[float, "float | None"], None]


def frame_size(resolution: str, source: tuple[int, int] | None) -> tuple[int, int]:
    """Pixel size of ``resolution`` (``1080p``, ``1080x1920``, ``source`` or any ``WxH``).

    ``source`` keeps the picture's size (made even, as yuv420p needs); a source
    with no picture then gets 1920x1080.
    """
    if resolution in RESOLUTIONS:
        size = RESOLUTIONS[resolution] or source or (1920, 1080)
    else:
        try:
            width, height = (int(n) for n in resolution.lower().split("x"))
        except ValueError:
            raise ValueError(
                f"unknown resolution {resolution!r}; choose from {', '.join(RESOLUTIONS)}"
            ) from None
        size = (width, height)
    width, height = size
    if width < 16 or height < 16 or width > 7680 or height > 7680:
        raise ValueError(f"resolution {width}x{height} is out of range")
    return width // 2 * 2, height // 2 * 2


def picture_note(source: Path) -> str | None:
    """The sentence to show when ``source`` has no picture (its captions get a plain background)."""
    try:
        with av.open(str(source), metadata_errors="ignore") as src:
            if _picture(src) is None:
                return f"{source.name} has no picture: the captions are on a plain background"
    except av.FFmpegError:
        return None
    return None


def write_captioned(
    script: Script,
    source: Path,
    path: Path,
    *,
    resolution: str = "1080p",
    fit: str = "blur",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Render ``source`` with ``script``'s captions in the picture to ``path`` (an .mp4)."""
    if fit not in FITS:
        raise ValueError(f"unknown fit {fit!r}; choose from {', '.join(FITS)}")
    caption_draw.check_fonts()
    try:
        with av.open(str(source), metadata_errors="ignore") as src:
            picture = _picture(src)
            audio = src.streams.audio[0] if src.streams.audio else None
            if picture is None and audio is None:
                raise UnsupportedMedia("has neither picture nor sound to caption", str(source))
            turn, shape = 0, None
            if picture is not None:
                turn = _rotation(source, picture)
                shape = _upright(picture.codec_context.width, picture.codec_context.height, turn)
            size = frame_size(resolution, shape)
            with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                fitting = (fit, turn)
                _Render(script, src, out, picture, audio, size, fitting, progress, cancel).run()
    except av.FFmpegError as exc:
        if getattr(exc, "errno", None) in _FULL_DISK:
            raise OutputNotWritable(
                "the disk is full; nothing was kept (free some space and export again)",
                str(path.parent),
            ) from None
        raise UnsupportedMedia(f"cannot render captions on it ({exc})", str(source)) from None


def _picture(src: Any) -> Any | None:
    """The video stream to show, if any (not a cover image attached to a recording)."""
    for stream in src.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _rotation(source: Path, stream: Any) -> int:
    """Clockwise degrees the picture must turn to stand upright (0, 90, 180, 270)."""
    with av.open(str(source), metadata_errors="ignore") as container:
        for frame in container.decode(container.streams[stream.index]):
            return round(-float(frame.rotation or 0) / 90) % 4 * 90
    return 0


def _upright(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation in (90, 270) else (width, height)


class _Captions:
    """The caption to draw at a given time; each caption drawn once, when first needed."""

    def __init__(self, script: Script, width: int, height: int) -> None:
        self.layout = Layout.for_frame(width, height)
        self.cues = build_cues(script, self.layout.max_line)
        self.language = script.language or ""
        self.index = 0
        self.blender: tuple[int, Blender] | None = None

    def at(self, ms: float) -> Blender | None:
        cues = self.cues
        while self.index < len(cues) and cues[self.index].end_ms <= ms:
            self.index += 1
        if self.index >= len(cues) or cues[self.index].start_ms > ms:
            return None
        if self.blender is None or self.blender[0] != self.index:
            overlay = caption_draw.draw_caption(cues[self.index].lines, self.layout, self.language)
            self.blender = (self.index, Blender(overlay, self.layout.width, self.layout.height))
        return self.blender[1]


class _Render:
    """One render: demux, fit, caption, encode, mux (see the module docstring)."""

    def __init__(
        self,
        script: Script,
        src: Any,
        out: Any,
        picture: Any | None,
        audio: Any | None,
        size: tuple[int, int],
        fit: tuple[str, int],
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> None:
        self.src, self.out, self.picture, self.audio = src, out, picture, audio
        self.width, self.height = size
        self.fit = fit  # how to fill the frame, and the picture's clockwise turn
        self.captions = _Captions(script, *size)
        self.progress, self.cancel = progress, cancel
        self.duration = src.duration / av.time_base if src.duration else 0.0
        self.start = src.start_time / av.time_base if src.start_time else 0.0
        self.began = time.monotonic()
        self.reported = 0.0
        rate = AUDIO_ONLY_RATE
        if picture is not None:
            rate = picture.average_rate or picture.guessed_rate or 25
        self.video = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
        self.video.width, self.video.height = size
        self.video.pix_fmt = "yuv420p"
        self.video.options = {"preset": "veryfast", "crf": "21"}
        if picture is not None:
            self.video.codec_context.time_base = picture.time_base
        self.copy_audio: Any | None = None
        self.recode_audio: Recoder | None = None
        if audio is not None:
            if audio.codec_context.codec.canonical_name in COPIED_AUDIO:
                self.copy_audio = out.add_stream_from_template(audio)
            else:
                self.recode_audio = Recoder(audio, out)
        self.graph: _Fitter | None = None
        self.last_pts: int | None = None

    def run(self) -> None:
        streams = [s for s in (self.picture, self.audio) if s is not None]
        blank = _Blank(self.width, self.height) if self.picture is None else None
        sound_end = 0.0  # where the sound really ends (a raw AAC file's duration is a guess)
        for packet in self.src.demux(*streams):
            self._check_cancel()
            if packet.stream is self.audio:
                self._audio(packet)
                if blank is not None and packet.pts is not None and packet.time_base:
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    sound_end = max(sound_end, end - self.start)
                    self._encode_all(blank.until(sound_end))
            else:
                for frame in packet.decode():
                    self._encode_all(self._fitted(frame))
        if blank is not None:
            self._encode_all(blank.until(sound_end or self.duration))
        elif self.graph is not None:
            self._encode_all(self.graph.flush())
        if self.recode_audio is not None:
            self.recode_audio.feed(None)
        for packet in self.video.encode(None):
            self.out.mux(packet)

    def _audio(self, packet: Any) -> None:
        if self.recode_audio is not None:
            self.recode_audio.feed(packet)
        elif packet.dts is not None:  # dts None: the demuxer's end-of-stream marker
            packet.stream = self.copy_audio
            self.out.mux(packet)

    def _fitted(self, frame: Any) -> Iterator[Any]:
        if self.graph is None:
            self.graph = _Fitter(frame, self.picture, (self.width, self.height), *self.fit)
        return self.graph.feed(frame)

    def _encode_all(self, frames: Iterator[Any]) -> None:
        for frame in frames:
            self._check_cancel()
            if frame.pts is None or (self.last_pts is not None and frame.pts <= self.last_pts):
                continue  # a picture with no time, or a repeated one: the encoder needs order
            self.last_pts = frame.pts
            seconds = float(frame.pts * frame.time_base) - self.start
            blender = self.captions.at(seconds * 1000)
            if blender is not None:
                blender.blend(frame)
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in self.video.encode(frame):
                self.out.mux(packet)
            self._report(seconds)

    def _report(self, seconds: float) -> None:
        now = time.monotonic()
        if self.progress is None or now - self.reported < 0.25 or self.duration <= 0:
            return
        self.reported = now
        fraction = min(1.0, max(0.0, seconds / self.duration))
        elapsed = now - self.began
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
        self.progress(fraction, eta)

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the captioned render was cancelled; nothing was kept")


class _Blank:
    """Plain dark frames for a source with no picture, made up to a given time."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.count = 0
        self.planes = [np.full((height, width), 28, np.uint8)]
        self.planes += [np.full((height // 2, width // 2), 128, np.uint8)] * 2

    def until(self, seconds: float) -> Iterator[Any]:
        while self.count < seconds * AUDIO_ONLY_RATE - 1e-6:
            frame = av.VideoFrame(self.width, self.height, "yuv420p")
            for plane, values in zip(frame.planes, self.planes, strict=True):
                caption_draw.plane_array(plane)[...] = values
            frame.pts = self.count
            frame.time_base = Fraction(1, AUDIO_ONLY_RATE)
            self.count += 1
            yield frame


class _Fitter:
    """The filter graph that turns the source's pictures into the frame's size and shape."""

    def __init__(
        self, first: Any, stream: Any, size: tuple[int, int], fit: str, rotation: int
    ) -> None:
        width, height = size
        graph = av.filter.Graph()
        node = graph.add_buffer(
            width=first.width,
            height=first.height,
            format=first.format.name,
            time_base=first.time_base or stream.time_base,
        )
        turns = {90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}
        for spec in turns.get(rotation, []):
            node = _chain(graph, node, spec)
        src_w, src_h = _upright(first.width, first.height, rotation)
        same_shape = abs(src_w / src_h - width / height) < 0.01 * width / height
        if same_shape:
            node = _chain(graph, node, f"scale={width}:{height}")
        elif fit == "crop":
            node = _chain(
                graph, node, f"scale={width}:{height}:force_original_aspect_ratio=increase"
            )
            node = _chain(graph, node, f"crop={width}:{height}")
        else:
            node = _blurred_fill(graph, node, width, height)
        node = _chain(graph, node, "setsar=1")
        node = _chain(graph, node, "format=pix_fmts=yuv420p")
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        self.graph = graph

    def feed(self, frame: Any) -> Iterator[Any]:
        self.graph.push(frame)
        return self._pull()

    def flush(self) -> Iterator[Any]:
        self.graph.push(None)
        return self._pull()

    def _pull(self) -> Iterator[Any]:
        while True:
            try:
                yield self.graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return


def _chain(graph: Any, node: Any, spec: str) -> Any:
    name, _, args = spec.partition("=")
    nxt = graph.add(name, args or None)
    node.link_to(nxt)
    return nxt


def _blurred_fill(graph: Any, node: Any, width: int, height: int) -> Any:
    """The picture, whole, over a blurred copy of itself enlarged to fill the frame."""
    split = graph.add("split", "2")
    node.link_to(split)
    small_w, small_h = max(8, width // 8 // 2 * 2), max(8, height // 8 // 2 * 2)
    sigma = max(1, min(small_w, small_h) // 20)
    back = graph.add("scale", f"{small_w}:{small_h}:force_original_aspect_ratio=increase")
    split.link_to(back, 0, 0)
    back = _chain(graph, back, f"crop={small_w}:{small_h}")
    back = _chain(graph, back, f"gblur=sigma={sigma}:steps=2")
    back = _chain(graph, back, f"scale={width}:{height}")
    front = graph.add("scale", f"{width}:{height}:force_original_aspect_ratio=decrease")
    split.link_to(front, 1, 0)
    overlay = graph.add("overlay", "x=(W-w)/2:y=(H-h)/2")
    back.link_to(overlay, 0, 0)
    front.link_to(overlay, 0, 1)
    return overlay

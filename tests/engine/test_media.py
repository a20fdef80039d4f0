"""probe() and decode_audio() on real containers and on every kind of bad input."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from tui.engine import errors, media

DATA = Path(__file__).resolve().parents[1] / "data"

MEDIA = {
    "demo.mp4": ("mp4", True),
    "real_conversation.mkv": ("mkv", True),
    "noisy_meeting.webm": ("webm", True),
    "phone_call.avi": ("avi", True),
    "panel.mov": ("mov", True),
    "reading.mp3": ("mp3", False),
    "reading.m4a": ("m4a", False),
    "reading.aac": ("aac", False),
    "reading_short.wav": ("wav", False),
}


def _truth_ms(name: str) -> int:
    return int(json.loads((DATA / f"{Path(name).stem}.truth.json").read_text())["duration_ms"])


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_probe_reads_every_container(name: str) -> None:
    info = media.probe(DATA / name)
    fmt, has_video = MEDIA[name]
    assert info.format == fmt
    assert info.has_audio
    assert info.name == name and info.size == (DATA / name).stat().st_size
    assert abs(info.duration_ms - _truth_ms(name)) < 400
    assert (info.width > 0 and info.height > 0) == has_video
    assert set(info.to_dict()) == {
        "name",
        "size",
        "duration_ms",
        "width",
        "height",
        "has_audio",
        "format",
    }


def test_probe_judges_content_not_name(tmp_path: Path) -> None:
    disguised = tmp_path / "holiday.wav"
    shutil.copy(DATA / "reading.mp3", disguised)
    assert media.probe(disguised).format == "mp3"
    video = tmp_path / "clip.mkv"
    shutil.copy(DATA / "demo.mp4", video)
    assert media.probe(video).format == "mp4"


@pytest.mark.parametrize(("codec", "ext", "fmt"), [("png", "png", "png"), ("mjpeg", "jpg", "jpg")])
def test_stills_are_accepted_without_audio(tmp_path: Path, codec: str, ext: str, fmt: str) -> None:
    path = tmp_path / f"still.{ext}"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "rgb24" if codec == "png" else "yuvj420p"
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 120, np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    info = media.probe(path)
    assert (info.format, info.has_audio, info.width, info.height) == (fmt, False, 64, 48)
    assert info.is_still


def test_text_named_like_a_picture_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("not a picture at all\n" * 20)
    with pytest.raises(errors.UnsupportedMedia, match="no decodable picture"):
        media.probe(fake)


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("missing", errors.MediaNotFound, "no such file"),
        ("empty", errors.EmptyMedia, "empty"),
        ("text", errors.UnsupportedMedia, "not a media file"),
        ("truncated_mp4", errors.UnsupportedMedia, "damaged or incomplete"),
    ],
)
def test_probe_refuses_bad_files(
    bad_media: dict[str, Path], kind: str, error: type, words: str
) -> None:
    with pytest.raises(error) as caught:
        media.probe(bad_media[kind])
    message = str(caught.value)
    assert str(bad_media[kind]) in message and words in message and "\n" not in message


def test_too_large_is_refused_before_reading(bad_media: dict[str, Path]) -> None:
    with pytest.raises(errors.MediaTooLarge, match="over the 2 MB limit"):
        media.probe(bad_media["large"], max_bytes=2 * 1000 * 1000)


def test_video_without_audio_is_probed_but_not_decoded(bad_media: dict[str, Path]) -> None:
    info = media.probe(bad_media["no_audio"])
    assert info.format == "mp4" and not info.has_audio and info.width == 160
    with pytest.raises(errors.NoAudioStream):
        media.decode_audio(bad_media["no_audio"])


def test_truncated_video_is_reported_when_decoding(bad_media: dict[str, Path]) -> None:
    with pytest.raises(errors.UnsupportedMedia, match="truncated or corrupt"):
        media.probe(bad_media["truncated"])
        media.decode_audio(bad_media["truncated"])


@pytest.mark.parametrize("name", ["demo.mp4", "noisy_meeting.webm", "reading.aac"])
def test_decode_gives_16k_mono_float(name: str) -> None:
    seen: list[float] = []
    audio = media.decode_audio(DATA / name, progress=seen.append)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / 16 - _truth_ms(name)) < 400
    assert 0.05 < float(np.abs(audio).max()) <= 1.0
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_decode_stops_when_cancelled() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(errors.Cancelled):
        media.decode_audio(DATA / "demo.mp4", cancel=cancel)


def test_an_audio_track_with_no_sound_counts_as_no_audio(tmp_path: Path) -> None:
    path = tmp_path / "mute.mkv"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"  # declared, but no packet is ever written
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 8, np.uint8), "rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    info = media.probe(path)
    assert (info.format, info.has_audio, info.width) == ("mkv", False, 64)

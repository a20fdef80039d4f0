"""The captioned export on real fixtures: frame, timing, sound, captions in the pixels, fonts.

Scripts are made from the fixtures' truth (the real turns, words spread over
each turn), so these tests need no speech recognition.  Most renders are at the
source's small size; one checks the 1080p frame on a 4-second clip.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.engine.conftest import DATA
from tui.engine import formats
from tui.engine.errors import Cancelled, EngineError
from tui.engine.formats import caption_draw, captioned
from tui.engine.formats.caption_draw import Blender, Layout
from tui.engine.formats.names import FRAMES
from tui.engine.formats.subtitles import build_cues
from tui.engine.media import decode_audio
from tui.engine.script import Script

ROOT = DATA.parents[1]


def truth_script(media: Path, names: dict[str, str] | None = None, language: str = "en") -> Script:
    """The fixture's true turns as a script, each turn's words spread evenly over it."""
    truth = json.loads(media.with_name(media.stem + ".truth.json").read_text())
    ids = {name: f"S{n}" for n, name in enumerate(truth["speakers"], 1)}
    turns = []
    for turn in truth["turns"]:
        words = turn["text"].split()
        step = (turn["end_ms"] - turn["start_ms"]) / len(words)
        start = turn["start_ms"]
        turns.append(
            {
                "speaker": ids[turn["speaker"]],
                "start_ms": turn["start_ms"],
                "end_ms": turn["end_ms"],
                "text": turn["text"],
                "words": [
                    {"w": w, "s": int(start + i * step), "e": int(start + (i + 1) * step)}
                    for i, w in enumerate(words)
                ],
            }
        )
    speakers = names or {sid: name.title() for name, sid in ids.items()}
    return Script.from_dict(
        {"video_id": media.stem, "language": language, "speakers": speakers, "turns": turns}
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 8 seconds of demo.mp4 (its packets copied): two turns and a speaker change."""
    path = tmp_path_factory.mktemp("clip") / "demo.mp4"
    with av.open(str(DATA / "demo.mp4")) as src, av.open(str(path), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None or packet.pts is None or packet.pts * packet.time_base >= 8:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def demo_script() -> Script:
    return truth_script(DATA / "demo.mp4", {"S1": "Diane", "S2": "Sheila"})  # renamed speakers


@pytest.fixture(scope="module")
def demo_source(demo_script: Script, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo.mp4 rendered at its own size (320x180)."""
    folder = tmp_path_factory.mktemp("source")
    return formats.write(
        demo_script, "captioned", folder, source_media=DATA / "demo.mp4", resolution="source"
    )


def info(path: Path) -> dict:
    with av.open(str(path)) as c:
        video = c.streams.video[0] if c.streams.video else None
        frames = [f for f in c.decode(video=0)] if video is not None else []
        return {
            "duration": c.duration / av.time_base,
            "size": (video.codec_context.width, video.codec_context.height) if video else None,
            "rate": video.base_rate if video else None,
            "average": float(video.average_rate) if video else None,
            "pix_fmt": video.codec_context.pix_fmt if video else None,
            "codec": video.codec_context.name if video else None,
            "end": float(frames[-1].time + 1 / video.average_rate) if frames else 0.0,
            "audio": [s.codec_context.name for s in c.streams.audio],
        }


def frame_at(path: Path, seconds: float) -> av.VideoFrame:
    """The yuv420p picture shown at ``seconds``."""
    shown = None
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            if frame.time > seconds + 1e-6:
                break
            shown = frame
    assert shown is not None
    return shown.reformat(format="yuv420p")


def luma(frame: av.VideoFrame) -> np.ndarray:
    return caption_draw.plane_array(frame.planes[0]).astype(np.int32)


def top_level_boxes(path: Path) -> list[str]:
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        names.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        at += size if size else len(data)
    return names


def lag_ms(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Where ``b`` best matches ``a`` (ms, positive: b is late) and the normalised peak."""
    n = min(a.size, b.size)
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    corr = np.concatenate([corr[-8000:], corr[:8001]])  # lags of +-0.5 s at 16 kHz
    best = int(np.argmax(corr))
    return (best - 8000) / 16, float(corr[best] / np.sqrt((a * a).sum() * (b * b).sum()))


def test_source_frame_rate_duration_and_phone_friendly_h264(demo_source: Path) -> None:
    out, src = info(demo_source), info(DATA / "demo.mp4")
    assert out["size"] == (320, 180) and out["rate"] == src["rate"] == 10
    assert out["codec"] == "h264" and out["pix_fmt"] == "yuv420p"
    one_frame = 1 / 10
    assert abs(out["duration"] - src["duration"]) <= one_frame
    assert abs(out["end"] - src["duration"]) <= one_frame
    boxes = top_level_boxes(demo_source)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart: plays while downloading
    assert out["audio"] == ["aac"]


def test_1080p_on_a_short_clip(demo_script: Script, clip: Path, tmp_path: Path) -> None:
    out = formats.write(demo_script, "captioned", tmp_path, source_media=clip)
    assert out.name == "demo.captioned.mp4"
    got = info(out)
    assert got["size"] == (1920, 1080) and got["rate"] == 10 and abs(got["average"] - 10) < 0.05
    assert abs(got["duration"] - info(clip)["duration"]) <= 0.1
    band = luma(frame_at(out, 7.0))[int(1080 * 0.6) : Layout.for_frame(1920, 1080).bottom]
    assert band.min() < 40 and band.max() > 200  # dark box and white letters, large


def test_audio_is_copied_and_in_sync(demo_source: Path) -> None:
    shift, peak = lag_ms(decode_audio(DATA / "demo.mp4"), decode_audio(demo_source))
    assert abs(shift) <= 100 and peak > 0.95, (shift, peak)


def test_captions_in_turns_and_none_in_silence(demo_source: Path) -> None:
    def band_change(seconds: float) -> float:
        rows = slice(int(180 * 0.6), Layout.for_frame(320, 180).bottom)
        out, src = frame_at(demo_source, seconds), frame_at(DATA / "demo.mp4", seconds)
        return float(np.abs(luma(out)[rows] - luma(src)[rows]).mean())

    # Speech: 0.70-5.76 s, 6.21-11.08 s, ..., 25.62-28.71 s.
    assert band_change(0.3) < 2.5 and band_change(29.5) < 2.5  # silence: the source's pixels
    assert band_change(3.0) > 15 and band_change(20.0) > 15  # in a turn: the caption


def test_the_speakers_name_is_shown_where_the_speaker_changes(
    demo_script: Script, demo_source: Path
) -> None:
    layout = Layout.for_frame(320, 180)
    at = 6.6
    [cue] = [
        c for c in build_cues(demo_script, layout.max_line) if c.start_ms <= at * 1000 < c.end_ms
    ]
    assert cue.lines[0].startswith("Sheila: ")  # the renamed name, as in the SRT export

    def expected(lines: list[str]) -> np.ndarray:
        frame = frame_at(DATA / "demo.mp4", at)
        overlay = caption_draw.draw_caption(lines, layout, "en")
        Blender(overlay, 320, 180).blend(frame)
        return luma(frame)

    shown = luma(frame_at(demo_source, at))
    rows = slice(int(180 * 0.5), layout.bottom)
    with_name = np.abs(shown - expected(cue.lines))[rows].mean()
    nameless = [cue.lines[0].removeprefix("Sheila: "), *cue.lines[1:]]
    without = np.abs(shown - expected(nameless))[rows].mean()
    assert with_name < 4 and with_name < without / 2, (with_name, without)


def _notdef(font) -> bytes:
    return bytes(font.getmask("\uffff"))


def test_cjk_arabic_and_latin_have_real_glyphs() -> None:
    line = "大家好，欢迎收看。مرحبا بكم Hello, Ünïcode 한국어 カタカナ"
    for text, name in caption_draw.runs(line):
        font = caption_draw._font(name, 48, caption_draw.DEFAULT_FACE)
        for char in text.replace(" ", ""):
            assert bytes(font.getmask(char)) != _notdef(font), (char, name)
    # The check sees a missing glyph: the CJK font has no Arabic letters.
    cjk = caption_draw._font(caption_draw.CJK_FONT, 48, caption_draw.DEFAULT_FACE)
    assert bytes(cjk.getmask("م")) == _notdef(cjk)
    # Arabic reads right to left: its run comes first from the right.
    assert [name for _, name in caption_draw.runs("مرحبا Sam")][-1] == "NotoSansArabic-Bold.ttf"


def test_a_chinese_script_is_captioned(clip: Path, tmp_path: Path) -> None:
    script = Script.from_dict(
        {
            "video_id": "zh",
            "language": "zh",
            "speakers": {"S1": "主持人"},
            "turns": [
                {"speaker": "S1", "start_ms": 700, "end_ms": 5000, "text": "大家好欢迎收看",
                 "words": [{"w": w, "s": 700 + 600 * i, "e": 1300 + 600 * i}
                           for i, w in enumerate(["大家好", "欢迎", "收看", "我们", "的", "节目"])]},
            ],
        }
    )  # fmt: skip
    out = formats.write(script, "captioned", tmp_path, source_media=clip, resolution="source")
    rows = slice(int(180 * 0.6), Layout.for_frame(320, 180).bottom)

    def change(t: float) -> float:
        return float(np.abs(luma(frame_at(out, t))[rows] - luma(frame_at(clip, t))[rows]).mean())

    # Inside the turn the caption band differs from the source; before it (0.3 s) it does not.
    assert change(3.0) > 5 and change(3.0) > 5 * change(0.3), (change(3.0), change(0.3))


@pytest.mark.parametrize("fit", captioned.FITS)
def test_vertical_frame_fits_by_blur_or_crop(
    demo_script: Script, clip: Path, tmp_path: Path, fit: str
) -> None:
    out = formats.write(
        demo_script, "captioned", tmp_path, source_media=clip, resolution="180x320", fit=fit
    )
    assert info(out)["size"] == (180, 320)
    # Without captions, so that every pixel is the picture's: where the square goes.
    plain = Script.from_dict({"video_id": "demo", "language": "en", "speakers": {}, "turns": []})
    bare = formats.write(plain, "captioned", tmp_path / "bare", source_media=clip,
                         resolution="180x320", fit=fit)  # fmt: skip
    crop_error = whole_error = 0.0
    middle = slice(110, 211)
    for at in np.arange(0.5, 8, 1.0):
        shown = luma(frame_at(bare, at)).astype(float)
        source = Image.fromarray(luma(frame_at(clip, at)).astype(np.uint8))
        # crop: the 320x180 picture scaled to 569x320, its middle 180 columns kept;
        # blur: the whole picture scaled to 180x101 in the middle rows, a blurred copy around.
        cropped = np.asarray(source.resize((569, 320), Image.BILINEAR))[:, 194:374]
        whole = np.asarray(source.resize((180, 101), Image.BILINEAR))
        crop_error += np.abs(shown - cropped).mean() / 8
        whole_error += np.abs(shown[middle] - whole).mean() / 8
    if fit == "crop":
        assert crop_error < 3 and whole_error > 2 * crop_error, (crop_error, whole_error)
    else:
        assert whole_error < 3 and crop_error > 2 * whole_error, (crop_error, whole_error)
    layout = Layout.for_frame(180, 320)
    assert layout.bottom <= 320 * 0.75  # above the platforms' bottom band


def test_audio_only_gets_a_plain_background_and_sound_encoded_once(tmp_path: Path) -> None:
    source = DATA / "reading_short.wav"
    assert "no picture" in (captioned.picture_note(source) or "")
    script = truth_script(source)
    out = formats.write(script, "captioned", tmp_path, source_media=source, resolution="320x180")
    got = info(out)
    assert got["size"] == (320, 180) and got["rate"] == 30 and got["audio"] == ["aac"]
    assert abs(got["end"] - info(source)["duration"]) <= 1 / 30
    shift, peak = lag_ms(decode_audio(source), decode_audio(out))
    assert abs(shift) <= 1000 / 30 and peak > 0.9, (shift, peak)
    first = script.turns[0]
    silent, spoken = frame_at(out, 0.05), frame_at(out, (first.start_ms + 1500) / 1000)
    assert luma(silent).std() == 0 and luma(spoken).std() > 20


def test_cancel_leaves_nothing(demo_script: Script, clip: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        formats.write(
            demo_script,
            "captioned",
            tmp_path,
            source_media=clip,
            progress=lambda fraction, eta: cancel.set(),
            cancel=cancel,
        )
    assert list(tmp_path.iterdir()) == []


def _small_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_a_full_disk_is_one_line_and_keeps_nothing(clip: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from tests.engine.test_captioned import truth_script, DATA\n"
        "from tui.engine import formats\n"
        "from tui.engine.errors import EngineError\n"
        "try:\n"
        f"    formats.write(truth_script(DATA / 'demo.mp4'), 'captioned', Path({str(tmp_path)!r}),"
        f" source_media=Path({str(clip)!r}))\n"
        "except EngineError as exc:\n"
        "    print(exc); sys.exit(exc.exit_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_small_disk,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 8, result.stderr
    assert result.stdout.count("\n") == 1 and "disk is full" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_resolutions() -> None:
    assert captioned.frame_size("1080p", (320, 180)) == (1920, 1080)
    assert captioned.frame_size("1080x1920", None) == (1080, 1920)
    assert captioned.frame_size("source", (321, 181)) == (320, 180)
    assert captioned.frame_size("source", None) == (1920, 1080)
    with pytest.raises(ValueError):
        captioned.frame_size("4k", None)
    assert [captioned.frame_size(FRAMES[f], (640, 360)) for f in ("16:9", "9:16", "source")] == [
        (1920, 1080), (1080, 1920), (640, 360)]  # fmt: skip


def test_missing_fonts_are_one_line_naming_the_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(caption_draw, "FONT_DIRS", (tmp_path,))
    with pytest.raises(EngineError) as error:
        caption_draw.check_fonts()
    message = str(error.value)
    assert "\n" not in message and "fonts-noto-cjk" in message and "fonts-noto-core" in message


@pytest.mark.parametrize("name", ["phone_call.avi", "noisy_meeting.webm"])
def test_sound_mp4_cannot_copy_is_encoded_once_in_sync(name: str, tmp_path: Path) -> None:
    """MP3 in AVI (timed in packets) and Opus in WebM: encoded to AAC, not a sample off."""
    source = DATA / name
    out = formats.write(truth_script(source), "captioned", tmp_path, source_media=source,
                        resolution="source")  # fmt: skip
    got, src = info(out), info(source)
    assert got["audio"] == ["aac"] and got["size"] == src["size"] and got["rate"] == src["rate"]
    assert abs(got["duration"] - src["duration"]) <= 0.1
    shift, peak = lag_ms(decode_audio(source), decode_audio(out))
    assert abs(shift) <= 1 and peak > 0.95, (shift, peak)

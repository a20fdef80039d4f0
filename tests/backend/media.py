"""Small real media files for backend tests, written with PyAV (no network, no fixtures needed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, seconds: float = 2.0, with_audio: bool = True, size: int = 64) -> Path:
    """An mp4 with a moving picture and (optionally) a tone: decodable, a real container."""
    rate, fps = 16000, 10
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=rate) if with_audio else None
        frames = int(seconds * fps)
        for i in range(frames):
            image = np.zeros((size, size, 3), dtype=np.uint8)
            image[:, (i * 4) % size] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            t = np.arange(int(seconds * rate)) / rate
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = samples[start : start + 1024].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return path

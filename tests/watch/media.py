"""Small real media files for the watch tests, written with PyAV (mp4: mpeg4 video + AAC audio)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000


def write_tone_mp4(path: Path, seconds: float = 1.0, hz: float = 440.0) -> Path:
    """A tiny real video: a grey picture and a sine tone (no speech)."""
    samples = int(SAMPLE_RATE * seconds)
    tone = (0.2 * np.sin(2 * np.pi * hz * np.arange(samples) / SAMPLE_RATE)).astype(np.float32)
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        for i in range(max(1, int(seconds * 10))):
            picture = np.full((48, 64, 3), (i * 20) % 256, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in audio.encode(frame):
            container.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):
                container.mux(packet)
    return path

"""Small real media files for backend tests, written with PyAV (no network, no fixtures needed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(
    path: Path, seconds: float = 2.0, with_audio: bool = True, size: int = 64, fps: int = 10
) -> Path:
    """An mp4 with a moving picture and (optionally) a tone: decodable, a real container."""
    rate = 16000
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=rate) if with_audio else None
        if audio is not None:
            audio.bit_rate = 16000  # small files, so a long one fits the strict upload limit
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


def _flite(text: str, voice: str, folder: Path, index: int) -> np.ndarray:
    import subprocess
    import wave

    out = folder / f"line{index}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True)
    with wave.open(str(out)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16) / 32768.0
    if rate != 16000:
        t_new = np.arange(int(len(samples) * 16000 / rate)) / 16000
        samples = np.interp(t_new, np.arange(len(samples)) / rate, samples)
    return samples.astype(np.float32)


def make_speech_video(path: Path, lines: list[tuple[str, str]]) -> Path:
    """An mp4 of two flite voices taking turns ((voice, text) per line), with a moving picture."""
    pieces = []
    for index, (voice, text) in enumerate(lines):
        pieces += [_flite(text, voice, path.parent, index), np.zeros(int(0.6 * 16000), np.float32)]
    return write_video(path, np.concatenate(pieces))


def make_longer_video(path: Path, source: Path, repeats: int) -> Path:
    """``source``'s sound played ``repeats`` times in a row, as a new mp4 (a longer job)."""
    from tui.engine.media import decode_audio

    return write_video(path, np.tile(decode_audio(source), repeats))


def write_video(path: Path, audio_data: np.ndarray) -> Path:
    """An mp4 with this 16 kHz mono sound and a simple moving picture."""
    rate, fps, size = 16000, 5, 64
    seconds = len(audio_data) / rate
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        for i in range(int(seconds * fps)):
            image = np.full((size, size, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for start in range(0, len(audio_data), 1024):
            frame = av.AudioFrame.from_ndarray(
                audio_data[start : start + 1024].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path

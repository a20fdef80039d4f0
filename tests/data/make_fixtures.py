"""Make the engine's test media in tests/data (run once; the outputs are committed).

    python tests/data/make_fixtures.py [--sources DIR]

Where the sound comes from:

* Synthetic voices with known text: Debian ``flite`` (``apt-get install flite``),
  voices slt (US female), rms (US male), awb (Scottish male), kal16 (US male).
* Real people with known text: the PyPI source release ``pocketsphinx==5.1.1``
  (``pip download --no-deps --no-binary :all: pocketsphinx==5.1.1``), its
  ``test/data``: ``librivox/*.wav`` + ``.txt`` (one LibriVox reader of *Sense and
  Sensibility*, public domain) and ``cards/*.wav`` + ``cards.transcription`` (a
  second, different speaker reading playing cards).  The script downloads the
  release itself when ``--sources`` is not given.

Each conversation gets ``<name>.truth.json``: the speakers, every turn's
speaker/start/end (found from the clip's own sound, in ms) and its text, so
tests can score word error rate and diarization error rate.  Everything is
deterministic (fixed seeds), small (a few hundred KB a file) and wrapped in
real containers with a moving picture, so tests take the decoder path users hit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
SR = 16000
PS = "pocketsphinx-5.1.1"

# Voice -> (flite voice, gain): the gains vary loudness between speakers.
Line = tuple[str, str]


@dataclass
class Clip:
    speaker: str
    audio: np.ndarray
    text: str


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
        data /= 32768.0
        if w.getframerate() != SR:
            data = resample_poly(data, SR, w.getframerate()).astype(np.float32)
    return data


def flite(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True)
        return read_wav(out)


def speech_extent(audio: np.ndarray) -> tuple[int, int]:
    """First and last sample of sound (10 ms frames above -35 dB of the clip's peak)."""
    frame = SR // 100
    n = len(audio) // frame
    rms = np.sqrt((audio[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-35 / 20))
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


def converse(
    clips: list[Clip], gaps_ms: list[int], lead_ms: int = 700
) -> tuple[np.ndarray, list[dict]]:
    """Join clips (trimmed to their sound) with the given gaps; return audio and true turns."""
    parts = [np.zeros(lead_ms * SR // 1000, np.float32)]
    turns = []
    pos = len(parts[0])
    for i, clip in enumerate(clips):
        a, b = speech_extent(clip.audio)
        sound = clip.audio[a:b]
        turns.append(
            {
                "speaker": clip.speaker,
                "start_ms": pos * 1000 // SR,
                "end_ms": (pos + len(sound)) * 1000 // SR,
                "text": clip.text,
            }
        )
        parts.append(sound)
        pos += len(sound)
        gap = gaps_ms[i % len(gaps_ms)] * SR // 1000
        parts.append(np.zeros(gap, np.float32))
        pos += gap
    parts.append(np.zeros(lead_ms * SR // 1000, np.float32))
    return np.concatenate(parts), turns


def synthetic(lines: list[Line], voices: dict[str, tuple[str, float]], gaps_ms: list[int]):
    clips = []
    for speaker, text in lines:
        voice, gain = voices[speaker]
        clips.append(Clip(speaker, flite(voice, text) * gain, text))
    return converse(clips, gaps_ms)


def music_and_noise(n: int, seed: int, level_db: float) -> np.ndarray:
    """A soft chord progression plus pink-ish noise, as a background bed."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    bed = np.zeros(n, np.float32)
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6)]
    for k in range(0, n, 2 * SR):
        seg = slice(k, min(n, k + 2 * SR))
        for f in chords[(k // (2 * SR)) % len(chords)]:
            bed[seg] += np.sin(2 * np.pi * f * t[seg]).astype(np.float32)
    noise = np.cumsum(rng.standard_normal(n)).astype(np.float32)
    noise -= np.convolve(noise, np.ones(400) / 400, mode="same").astype(np.float32)
    bed = bed / np.abs(bed).max() + noise / (np.abs(noise).max() + 1e-9)
    return (bed / np.abs(bed).max() * 10 ** (level_db / 20)).astype(np.float32)


def phone_band(audio: np.ndarray) -> np.ndarray:
    """Band-limit like a phone call: down to 8 kHz sampling and back up."""
    return resample_poly(resample_poly(audio, 1, 2), 2, 1).astype(np.float32)[: len(audio)]


def normalise(audio: np.ndarray, peak: float = 0.8) -> np.ndarray:
    return (audio / max(1e-9, float(np.abs(audio).max())) * peak).astype(np.float32)


# -- containers ----------------------------------------------------------------

VIDEO = {  # container -> (video codec, audio codec, audio rate)
    "mp4": ("libx264", "aac", 44100),
    "mov": ("libx264", "aac", 44100),
    "mkv": ("libx264", "libopus", 48000),
    "webm": ("libvpx", "libopus", 48000),
    "avi": ("mpeg4", "libmp3lame", 44100),
}
AUDIO = {  # container -> (format, audio codec, rate)
    "mp3": ("mp3", "libmp3lame", 44100),
    "wav": ("wav", "pcm_s16le", 16000),
    "m4a": ("ipod", "aac", 44100),
    "aac": ("adts", "aac", 44100),
}
COLOURS = [(40, 90, 160), (170, 70, 50), (60, 140, 80), (150, 120, 40), (110, 60, 140)]


def picture(t_s: float, speaker: int, w: int, h: int) -> np.ndarray:
    """A flat colour for the current speaker with a square that moves across."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = COLOURS[speaker % len(COLOURS)] if speaker >= 0 else (30, 30, 30)
    size = h // 4
    x = int((t_s * w / 8) % (w - size))
    y = int((h - size) / 2 + np.sin(t_s) * h / 5)
    img[y : y + size, x : x + size] = (230, 230, 230)
    return img


def write_media(
    path: Path,
    audio: np.ndarray | None,
    turns: list[dict] | None = None,
    size: tuple[int, int] = (160, 96),
    audio_kbps: int = 48,
    duration_s: float | None = None,
) -> None:
    """Wrap ``audio`` (16 kHz float) in the container named by ``path``'s extension.

    ``audio=None`` makes a video with no audio stream (``duration_s`` long).
    """
    ext = path.suffix.lstrip(".")
    if ext in VIDEO:
        vcodec, acodec, rate = VIDEO[ext]
        fmt = None
    else:
        fmt, acodec, rate = AUDIO[ext]
        vcodec = None
    speakers = sorted({t["speaker"] for t in turns or []})
    with av.open(str(path), "w", format=fmt) as out:
        vstream = None
        if vcodec:
            vstream = out.add_stream(vcodec, rate=10)
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
            vstream.bit_rate = 60_000
            if vcodec == "libx264":
                vstream.options = {"crf": "34", "preset": "veryslow"}
        audio_packets = [] if audio is None else _encode_audio(out, audio, acodec, rate, audio_kbps)
        if vstream is not None:
            duration = duration_s if audio is None else len(audio) / SR
            assert duration is not None
            for i in range(int(duration * 10) + 1):
                t = i / 10
                who = next(
                    (
                        speakers.index(x["speaker"])
                        for x in turns or []
                        if x["start_ms"] <= t * 1000 <= x["end_ms"]
                    ),
                    -1,
                )
                frame = av.VideoFrame.from_ndarray(picture(t, who, *size), format="rgb24")
                frame.pts = i
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        for packet in audio_packets:
            out.mux(packet)


def _encode_audio(
    out: av.container.OutputContainer, audio: np.ndarray, acodec: str, rate: int, kbps: int
) -> list:
    astream = out.add_stream(acodec, rate=rate)
    astream.layout = "mono"
    if acodec != "pcm_s16le":
        astream.bit_rate = kbps * 1000
    pcm = resample_poly(audio, rate, SR).astype(np.float32) if rate != SR else audio
    samples = np.clip(pcm * 32767, -32768, 32767).astype(np.int16)
    frame_len = 1024 if acodec != "libopus" else 960
    packets = []
    for k in range(0, len(samples), frame_len):
        chunk = samples[k : k + frame_len]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = k
        frame.time_base = Fraction(1, rate)
        packets.extend(astream.encode(frame))
    packets.extend(astream.encode(None))
    return packets


def save(name: str, audio: np.ndarray, turns: list[dict], source: str, **kw: object) -> None:
    path = HERE / name
    write_media(path, audio, turns, **kw)  # type: ignore[arg-type]
    speakers = list(dict.fromkeys(t["speaker"] for t in turns))
    truth = {
        "source": source,
        "speakers": speakers,
        "duration_ms": len(audio) * 1000 // SR,
        "turns": turns,
    }
    (HERE / f"{path.stem}.truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(
        f"{name}: {path.stat().st_size / 1024:.0f} KB, {len(audio) / SR:.1f} s, {len(speakers)} speakers"
    )


# -- the fixtures -----------------------------------------------------------------

DEMO = [
    (
        "host",
        "Welcome back to the show. Today we are talking about how small teams ship software quickly.",
    ),
    ("guest", "Thanks for having me. The short answer is that they keep every change small."),
    ("host", "Okay."),
    ("guest", "Hello? Sorry, can you still hear me?"),
    ("host", "Yes, we can hear you. Go ahead."),
    (
        "guest",
        "I think testing early matters more than any tool you pick. Write the test first, then the code, and ship it the same day.",
    ),
    ("host", "That is a good place to stop. Thank you for joining us."),
]

NOISY = [
    ("ann", "Good morning. Let us start with the numbers from last week."),
    ("bob", "Sales went up a little, but the warehouse was short of boxes again."),
    ("cat", "Hello?"),
    ("ann", "Yes, we hear you. Please tell us about the boxes."),
    ("cat", "The supplier moved our order to Friday, so we will have enough by Monday morning."),
    ("bob", "Okay."),
    ("ann", "Then we are done for today. Thank you all."),
]

CALL = [
    ("dan", "Hi, this is the help desk. How can I help you today?"),
    ("eve", "My laptop will not connect to the office network since this morning."),
    ("dan", "Okay. Have you tried turning the wireless off and on again?"),
    ("eve", "Yes, twice. It still says no internet."),
    ("dan", "Right. I will send you a new certificate by email in five minutes."),
    ("eve", "Thank you, that would be great."),
]

PANEL = [
    ("ann", "Welcome to the panel. Each of you has one minute to introduce yourself."),
    ("bob", "I build bicycles in a small shop near the river."),
    ("cat", "I teach mathematics at the high school on the hill."),
    ("dan", "I am a nurse, and I work nights at the city hospital."),
    ("ann", "Thank you. What do you like most about your work?"),
    ("dan", "Helping people when they are scared."),
    ("bob", "Fixing something that was broken."),
    ("cat", "The moment a student finally understands."),
]


def pocketsphinx_data(sources: Path | None) -> Path:
    if sources is None:
        sources = Path(tempfile.mkdtemp())
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{PS}".replace("-", "=="),
                "-d",
                str(sources),
            ],
            check=True,
        )
    data = sources / PS / "test" / "data"
    if not data.exists():
        with tarfile.open(sources / f"{PS}.tar.gz") as tar:
            tar.extractall(sources, filter="data")
    return data


def real_clips(data: Path) -> tuple[list[Clip], list[Clip]]:
    reader = []
    for wav in sorted((data / "librivox").glob("*.wav")):
        text = wav.with_suffix(".txt").read_text().strip()
        reader.append(Clip("reader", read_wav(wav), text))
    cards_text = {}
    for line in (data / "cards" / "cards.transcription").read_text().splitlines():
        words, _, fid = line.rpartition("(")
        cards_text[fid.rstrip(")").strip()] = words.replace("<s>", "").replace("</s>", "").strip()
    cards = [
        Clip("player", read_wav(data / "cards" / f"{fid}.wav"), t)
        for fid, t in sorted(cards_text.items())
    ]
    return reader, cards


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=Path, help="folder holding pocketsphinx-5.1.1(.tar.gz)")
    args = ap.parse_args()

    audio, turns = synthetic(DEMO, {"host": ("slt", 1.0), "guest": ("rms", 0.9)}, [450, 300, 600])
    save("demo.mp4", normalise(audio), turns, "flite voices slt, rms", size=(320, 180))

    audio, turns = synthetic(
        NOISY, {"ann": ("slt", 1.0), "bob": ("rms", 0.7), "cat": ("kal16", 0.9)}, [400, 250, 700]
    )
    audio = normalise(audio) + music_and_noise(len(audio), 7, -24)
    save(
        "noisy_meeting.webm",
        normalise(audio),
        turns,
        "flite slt, rms, kal16 + music/noise bed at -24 dB",
    )

    audio, turns = synthetic(CALL, {"dan": ("rms", 1.0), "eve": ("slt", 0.6)}, [350, 500])
    save(
        "phone_call.avi",
        normalise(phone_band(audio)),
        turns,
        "flite rms, slt, band-limited to 8 kHz",
    )

    # One quiet, far-ish speaker (cat at -12 dB) next to close ones.
    voices = {"ann": ("slt", 1.0), "bob": ("rms", 0.8), "cat": ("kal16", 0.25), "dan": ("awb", 0.9)}
    audio, turns = synthetic(PANEL, voices, [400, 300, 550])
    save("panel.mov", normalise(audio), turns, "flite slt, rms, kal16 (quiet), awb")

    reader, cards = real_clips(pocketsphinx_data(args.sources))
    conversation = [c for pair in zip(reader, cards, strict=True) for c in pair]
    audio, turns = converse(conversation, [400, 250, 600, 300])
    save(
        "real_conversation.mkv",
        normalise(audio),
        turns,
        f"{PS} test/data librivox + cards (two real speakers)",
    )

    audio, turns = converse(reader, [300])
    audio = normalise(audio)
    for ext in ("mp3", "m4a", "aac"):
        save(
            f"reading.{ext}",
            audio,
            turns,
            f"{PS} test/data/librivox (one real reader)",
            audio_kbps=32,
        )
    audio, turns = converse(reader[:2], [300])
    save("reading_short.wav", normalise(audio), turns, f"{PS} test/data/librivox, first two clips")


if __name__ == "__main__":
    main()

"""Writing the benchmark sets: 16-bit WAV, RTTM references, manifest.json; the real-recordings set."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np

from benchmarks import sameroom_sources as sources
from benchmarks.conversations import SR


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def write_rttm(path: Path, name: str, turns: list[tuple[float, float, str]]) -> None:
    lines = [
        f"SPEAKER {name} 1 {a:.3f} {b - a:.3f} <NA> <NA> {s} <NA> <NA>\n"
        for a, b, s in sorted(turns)
        if b > a
    ]
    path.write_text("".join(lines))


def entry(
    name: str, audio: np.ndarray, turns: list, has_overlap: bool, source: str, **extra
) -> dict:
    speech = {
        s: round(sum(b - a for a, b, t in turns if t == s), 2)
        for s in sorted({t[2] for t in turns})
    }
    return {
        "name": name,
        "speakers": len(speech),
        "speech_s": speech,
        "duration_s": round(len(audio) / SR, 2),
        "has_overlap": has_overlap,
        "source": source,
        **extra,
    }


def write_set(folder: Path, items: list[tuple[np.ndarray, dict, list]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for audio, meta, turns in items:
        write_wav(folder / f"{meta['name']}.wav", audio)
        write_rttm(folder / f"{meta['name']}.rttm", meta["name"], turns)
    (folder / "manifest.json").write_text(json.dumps([m for _, m, _ in items], indent=1) + "\n")
    print(f"{folder}: {len(items)} files, {sum(len(a) for a, _, _ in items) / SR / 60:.1f} min")


def real_items(src: Path) -> list[tuple[np.ndarray, dict, list]]:
    items = []
    audio, turns = sources.know(src)
    items.append(
        (
            audio,
            entry("know", audio, turns, True, "Debian transcriber: know.sph (CALLFRIEND call)"),
            turns,
        )
    )
    audio, turns = sources.frint(src)
    items.append(
        (audio, entry("frint980428", audio, turns, True, "Debian transcriber: France Inter"), turns)
    )
    for name, audio, turns, words in sources.roll_calls(src):
        overlap = any(b[0] < a[1] for i, a in enumerate(turns) for b in turns[i + 1 :])
        meta = entry(name, audio, turns, overlap, f"speakerbox {name}.wav (roll call)", words=words)
        items.append((audio, meta, turns))
    return items

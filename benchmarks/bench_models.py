"""Which model should write English? WER on real English speech, and whole-pipeline time.

    python benchmarks/bench_models.py [--sources DIR] [--rounds 3] [--skip-speed]

Candidates: ``tiny.en`` (bundled, English only: cannot detect a language),
``base`` (bundled, multilingual: detects and writes every language) and
``base+tiny.en`` (base detects the language, tiny.en writes English, base the
rest).  The default must be the most accurate within the speed budget: the
whole pipeline, language detection included, at most 1.3 x the plain
faster-whisper baseline of ``bench_pipeline.py speed`` (bundled tiny.en,
beam 5, no VAD), wall time, median of ``--rounds`` runs in alternating order,
each in a fresh process.

English speech with known words (all real people, about 2.5 minutes):

* LibriVox readers: ``test/data/librivox`` of the ``pocketsphinx==5.1.1`` sdist;
* ``tests/data/real_conversation.mkv`` (a LibriVox reader and a card reader);
* Asterisk prompts (``asterisk-core-sounds-en-g722`` + ``-en`` texts), as for
  the other languages in tests/data/make_language_fixtures.py;
* a real phone call: the ``transcriber`` package's ``know`` example (CALLFRIEND,
  8 kHz, two channels mixed).

``--sources`` is a folder holding the unpacked Debian packages (``dpkg-deb -x``)
and the unpacked pocketsphinx sdist; missing ones are fetched into it with
``apt-get download`` and ``pip download``.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from benchmarks.bench_pipeline import _PLAIN, build_talk  # noqa: E402
from tests.engine.scoring import normalise  # noqa: E402

CANDIDATES = ["tiny.en", "base", "base+tiny.en"]
#: tiny.en alone cannot detect a language, so it cannot be the default (a reference only).
ELIGIBLE = ["base", "base+tiny.en"]
BUDGET = 1.3
SR = 16000
DEBS = ["asterisk-core-sounds-en", "asterisk-core-sounds-en-g722", "transcriber"]
ASTERISK_S = 60

_PIPELINE = """
import sys, time
t = time.perf_counter()
from tui.engine.pipeline import Options, transcribe_file
script = transcribe_file(sys.argv[1], Options(model=sys.argv[2]))
print(time.perf_counter() - t, time.process_time(), len(script.words), len(script.speakers))
"""


def fetch_sources(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    root = folder / "root"
    if not (root / "usr/share/doc/transcriber/examples/know.trs").is_file():
        subprocess.run(["apt-get", "download", *DEBS], cwd=folder, check=True)
        for deb in folder.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    if not (folder / "pocketsphinx-5.1.1").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            + ["pocketsphinx==5.1.1", "-d", str(folder)],
            check=True,
        )
        subprocess.run(["tar", "xzf", "pocketsphinx-5.1.1.tar.gz"], cwd=folder, check=True)
    return folder


def clips(sources: Path) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Corpus name -> [(16 kHz audio, reference text)]."""
    from make_language_fixtures import read_g722

    from tui.engine.media import decode_audio

    root = sources / "root"
    out: dict[str, list[tuple[np.ndarray, str]]] = {}
    libri = sources / "pocketsphinx-5.1.1/test/data/librivox"
    out["LibriVox readers"] = [
        (decode_audio(wav), wav.with_suffix(".txt").read_text().strip())
        for wav in sorted(libri.glob("*.wav"))
    ]
    import json

    truth = json.loads((ROOT / "tests/data/real_conversation.truth.json").read_text())
    out["tests/data real_conversation"] = [
        (
            decode_audio(ROOT / "tests/data/real_conversation.mkv"),
            " ".join(t["text"] for t in truth["turns"]),
        )
    ]
    listing = root / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    prompts, total = [], 0.0
    for line in sorted(gzip.open(listing, "rt", encoding="utf-8-sig")):
        key, _, text = line.partition(":")
        text = " ".join(text.split())
        path = root / "usr/share/asterisk/sounds/en_US_f_Allison" / f"{key.strip()}.g722"
        if 45 <= len(text) <= 160 and not re.search(r"[\d\[\]()<>/]", text) and path.is_file():
            audio = read_g722(path)
            prompts.append((audio, text))
            total += len(audio) / SR
            if total >= ASTERISK_S:
                break
    out["Asterisk prompts (en)"] = prompts
    out["phone call (know)"] = [know_call(root / "usr/share/doc/transcriber/examples")]
    return out


def know_call(folder: Path) -> tuple[np.ndarray, str]:
    """The CALLFRIEND 'know' call: NIST SPHERE, 8 kHz u-law, two channels mixed."""
    raw = gzip.open(folder / "know.sph.gz").read()
    data = np.frombuffer(raw[1024:], np.uint8)
    u = ~data.astype(np.int16) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    pcm = (((mantissa << 3) + 0x84) << exponent) - 0x84
    pcm = np.where(sign, -pcm, pcm).astype(np.float32) / 32768.0
    mixed = pcm.reshape(-1, 2).mean(axis=1)
    from scipy.signal import resample_poly

    audio = resample_poly(mixed, 2, 1).astype(np.float32)
    text = " ".join(ET.parse(folder / "know.trs").getroot().itertext())
    text = re.sub(r"\{[^}]*\}|\(\(|\)\)", " ", text)
    return audio, " ".join(text.split())


def accuracy(corpora: dict[str, list[tuple[np.ndarray, str]]], model: str):
    """Pooled WER per corpus and overall, and recognition seconds (VAD + detection + ASR)."""
    import jiwer

    from tui.engine import transcribe

    transcribe.load_plan(model, "cpu")  # loading is not what is compared here
    rows, refs, hyps, seconds = {}, [], [], 0.0
    for corpus, items in corpora.items():
        c_refs, c_hyps = [], []
        for audio, reference in items:
            t = time.perf_counter()
            speech = transcribe.speech_regions(audio)
            found = transcribe.recognise(audio, speech, model=model, device="cpu")
            seconds += time.perf_counter() - t
            c_refs.append(normalise(reference))
            c_hyps.append(normalise(" ".join(w.w for w in found.words)))
        rows[corpus] = jiwer.wer(c_refs, c_hyps)
        refs += c_refs
        hyps += c_hyps
    rows["all"] = jiwer.wer(refs, hyps)
    return rows, seconds


def _timed(code: str, video: Path, *args: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, str(video), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = out.stdout.split()[:2]
    return float(wall), float(cpu)


def speed(rounds: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of the plain baseline and of the pipeline with each candidate."""
    times: dict[str, list[tuple[float, float]]] = {"plain": [], **{m: [] for m in CANDIDATES}}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "talk-3min.mp4"
        build_talk(video, 180)
        for r in range(rounds):
            order = ["plain", *CANDIDATES]
            order = order if r % 2 == 0 else order[::-1]  # alternate the order
            for what in order:
                if what == "plain":
                    times[what].append(_timed(_PLAIN, video))
                else:
                    times[what].append(_timed(_PIPELINE, video, what))
                wall, cpu = times[what][-1]
                print(
                    f"  round {r + 1}: {what:<13} {wall:6.1f} s wall {cpu:6.1f} s CPU", flush=True
                )
    return {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, default=Path(tempfile.gettempdir()) / "rs-english")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args()
    corpora = clips(fetch_sources(args.sources))
    minutes = sum(len(a) for items in corpora.values() for a, _ in items) / SR / 60
    print(f"English speech: {minutes:.1f} min in {sum(map(len, corpora.values()))} clips")
    results = {}
    for model in [] if args.skip_accuracy else CANDIDATES:
        rows, seconds = accuracy(corpora, model)
        results[model] = rows
        cells = ", ".join(f"{k} {v:.3f}" for k, v in rows.items())
        print(f"{model:<13} WER {cells}; recognition {seconds:.1f} s", flush=True)
    if args.skip_speed:
        return
    medians = speed(args.rounds)
    plain, plain_cpu = medians.pop("plain")
    print(
        f"plain faster-whisper tiny.en (beam 5, no VAD): {plain:.1f} s wall, {plain_cpu:.1f} s CPU"
    )
    fits = []
    for model, (secs, cpu) in medians.items():
        ratio = secs / plain
        fits += [model] if ratio <= BUDGET and model in ELIGIBLE else []
        print(
            f"pipeline --model {model:<13} {secs:6.1f} s wall (ratio {ratio:.2f}), "
            f"{cpu:6.1f} s CPU (ratio {cpu / plain_cpu:.2f})"
        )
    if results:
        winner = min(fits, key=lambda m: results[m]["all"]) if fits else None
        print(f"most accurate within {BUDGET}x (wall): {winner}")


if __name__ == "__main__":
    main()

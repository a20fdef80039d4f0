"""Does a language clip's WER hang on the CPU?  The same clips under other matrix backends.

    python benchmarks/lang_backends.py [--clips tune|eval] [--compute int8,float32]
    python benchmarks/lang_backends.py --pool eval --sounds ROOT [--backends A,B,C,D]
    python benchmarks/lang_backends.py --pool tune --sounds ROOT --backends A,B --beams 1,5 \
        --compute int8

CTranslate2 multiplies int8 matrices with Intel MKL on Intel CPUs and with oneDNN
elsewhere, each with the widest instructions the CPU has; the words Whisper writes
can change with them.  Environment variables make one machine use the others'
paths, so the CPU dependence can be measured without the other CPUs:

* ``A``: as the machine chooses;
* ``B``: oneDNN and CTranslate2's own kernels held to AVX2 (an AVX2-only CPU);
* ``C``: MKL (as on an Intel CPU);
* ``D``: MKL and CTranslate2's kernels held to AVX2.

Each clip of ``tests/data/lang_*_<clips>.*`` is scripted by the CLI
(``--diarizer none``, the default model) in a fresh process per backend and
compute type (``--compute`` replaces the CPU compute type of every model loaded),
and its WER against the known text printed, with how many (clip, backend) pairs
wrote other words than ``A``.  Results in docs/languages.md.

``--pool eval`` (or ``tune``) scripts instead the *whole* pool of each
language's prompts that the test clips are drawn from
(``tests/data/make_language_fixtures.py``: the same rule, the same alternate
deal, so the evaluation pool holds the evaluation clip's prompts and about
ten times more), joined into clips of about POOL_CLIP_S seconds, and prints
each language's WER over all of its pool's words beside its bound: whether a
30-second clip's side of its bound says something about the language or only
about the arithmetic.  ``ROOT`` holds the unpacked prompt packages, as for
the fixtures' maker.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.lang_scoring import WER_BOUNDS, normalise, wer  # noqa: E402

DATA = ROOT / "tests" / "data"
#: Seconds of prompts (and their gaps) per clip of a pool.
POOL_CLIP_S = 60.0
BACKENDS = {
    "A": {},
    "B": {"ONEDNN_MAX_CPU_ISA": "AVX2", "CT2_FORCE_CPU_ISA": "AVX2"},
    "C": {"CT2_USE_MKL": "1"},
    "D": {"CT2_USE_MKL": "1", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "CT2_FORCE_CPU_ISA": "AVX2"},
}
# The CLI in a fresh process, with every model's CPU compute type replaced.
RUN = (
    "import os, sys; import tui.engine.models as m; "
    "m.COMPUTE_TYPE_CPU = os.environ['BENCH_COMPUTE_TYPE']; "
    "import tui.engine.transcribe as t; "
    "t.MULTILINGUAL_BEAM_SIZE = int(os.environ.get('BENCH_BEAM') or t.MULTILINGUAL_BEAM_SIZE); "
    "from tui.cli.main import main; sys.argv = ['reelscript'] + sys.argv[1:]; main()"
)


def script_text(
    clip: Path, compute: str, backend: dict[str, str], beam: str = ""
) -> tuple[str, str]:
    env = dict(os.environ, BENCH_COMPUTE_TYPE=compute, BENCH_BEAM=beam, **backend)
    with tempfile.TemporaryDirectory() as out:
        args = [sys.executable, "-c", RUN, "transcribe", str(clip), "-f", "json", "-o", out]
        done = subprocess.run(
            [*args, "-q", "--diarizer", "none"], env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{clip.name}: {done.stderr.strip().splitlines()[-1]}")
        script = json.loads((Path(out) / f"{clip.stem}.json").read_text(encoding="utf-8"))
    return " ".join(t["text"] for t in script["turns"]), script["language"]


def pool_clips(sounds: Path, which: str, folder: Path) -> list[tuple[Path, str, str]]:
    """Each language's whole ``which`` pool in clips under ``folder``: (wav, language, text)."""
    import soundfile

    sys.path.insert(0, str(DATA))
    import make_language_fixtures as fixtures

    out = []
    for code in fixtures.LANGS:
        usable = fixtures.prompts(sounds, code)
        if not usable:
            raise SystemExit(f"no {code} prompts under {sounds}: unpack the prompt packages there")
        pool = usable[0::2] if which == "tune" else usable[1::2]
        while pool:
            audio, timed = fixtures.assemble(fixtures.take(pool, POOL_CLIP_S), code)
            path = folder / f"pool_{code}_{len(out)}.wav"
            soundfile.write(path, audio, fixtures.SR)
            out.append((path, code, " ".join(p["text"] for p in timed)))
    return out


def _wer_over(clips, texts: dict[Path, str]) -> tuple[float, int]:
    """The WER over all of ``clips``' words together, and how many words those are."""
    import jiwer

    refs = [normalise(text) for _, _, text in clips]
    rate = float(jiwer.wer(refs, [normalise(texts[path]) for path, _, _ in clips]))
    return rate, sum(len(r.split()) for r in refs)


def by_language(clips, texts: dict[Path, str]) -> dict[str, tuple[float, int]]:
    """Each language's WER over all of its clips' words, and how many words those are."""
    codes = dict.fromkeys(c[1] for c in clips)
    return {code: _wer_over([c for c in clips if c[1] == code], texts) for code in codes}


def pools(args: argparse.Namespace) -> None:
    if args.sounds is None:
        raise SystemExit("--pool needs --sounds ROOT (the unpacked prompt packages)")
    with tempfile.TemporaryDirectory() as folder:
        clips = pool_clips(args.sounds, args.pool, Path(folder))
        beams = args.beams.split(",")
        for compute in args.compute.split(","):
            for name in args.backends.split(","):
                texts: dict[str, dict[Path, str]] = {beam: {} for beam in beams}
                took = dict.fromkeys(beams, 0.0)
                for n, (path, code, text) in enumerate(clips):
                    # the beams in turn, the first alternating from clip to clip
                    for beam in beams[n % len(beams) :] + beams[: n % len(beams)]:
                        start = time.perf_counter()
                        texts[beam][path], language = script_text(
                            path, compute, BACKENDS[name], beam
                        )
                        took[beam] += time.perf_counter() - start
                        print(
                            f"{compute:8} {name} beam {beam or '-'} {path.name:14} "
                            f"{code}->{language} WER {wer(texts[beam][path], text):.3f}",
                            flush=True,
                        )
                for beam in beams:
                    for code, (rate, words) in by_language(clips, texts[beam]).items():
                        print(
                            f"== {compute} {name} beam {beam or '-'} {code}: WER {rate:.3f}"
                            f" over {words} words (bound {WER_BOUNDS[code]:.2f})",
                            flush=True,
                        )
                    rate, words = _wer_over(clips, texts[beam])
                    print(
                        f"== {compute} {name} beam {beam or '-'} all: WER {rate:.3f} over "
                        f"{words} words; {took[beam]:.1f} s wall (a process per clip)",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", choices=("tune", "eval"), default="tune")
    parser.add_argument("--compute", default="int8,float32")
    parser.add_argument("--pool", choices=("tune", "eval"), help="a whole pool, not the clips")
    parser.add_argument("--sounds", type=Path, help="the unpacked prompt packages (--pool)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="with --pool: A,B,C,D")
    parser.add_argument(
        "--beams",
        default="",
        help="with --pool: beam sizes of the multilingual model to compare (1,5); "
        "default: the engine's",
    )
    args = parser.parse_args()
    if args.pool:
        pools(args)
        return
    clips = sorted(p for p in DATA.glob(f"lang_*_{args.clips}.*") if p.suffix != ".json")
    for compute in args.compute.split(","):
        written: dict[tuple[str, str], str] = {}
        for name, backend in BACKENDS.items():
            rates = []
            for clip in clips:
                text, language = script_text(clip, compute, backend)
                truth = json.loads(clip.with_suffix(".truth.json").read_text(encoding="utf-8"))
                rates.append(wer(text, truth["text"]))
                written[name, clip.name] = normalise(text)
                print(f"{compute:8} {name} {clip.name:22} {language} WER {rates[-1]:.3f}")
            print(f"{compute:8} {name} mean WER {sum(rates) / len(rates):.3f}", flush=True)
        other = sum(written[b, c.name] != written["A", c.name] for b in "BCD" for c in clips)
        print(
            f"{compute}: {other} of {3 * len(clips)} (clip, backend) pairs wrote other words than A"
        )


if __name__ == "__main__":
    main()

"""Does a language clip's WER hang on the CPU?  The same clips under other matrix backends.

    python benchmarks/lang_backends.py [--clips tune|eval] [--compute int8,float32]

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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.lang_scoring import normalise, wer  # noqa: E402

DATA = ROOT / "tests" / "data"
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
    "from tui.cli.main import main; sys.argv = ['reelscript'] + sys.argv[1:]; main()"
)


def script_text(clip: Path, compute: str, backend: dict[str, str]) -> tuple[str, str]:
    env = dict(os.environ, BENCH_COMPUTE_TYPE=compute, **backend)
    with tempfile.TemporaryDirectory() as out:
        args = [sys.executable, "-c", RUN, "transcribe", str(clip), "-f", "json", "-o", out]
        done = subprocess.run(
            [*args, "-q", "--diarizer", "none"], env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{clip.name}: {done.stderr.strip().splitlines()[-1]}")
        script = json.loads((Path(out) / f"{clip.stem}.json").read_text(encoding="utf-8"))
    return " ".join(t["text"] for t in script["turns"]), script["language"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", choices=("tune", "eval"), default="tune")
    parser.add_argument("--compute", default="int8,float32")
    args = parser.parse_args()
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

"""Speech the recogniser drops: prompts with no word written, before and after re-reading.

    python benchmarks/lang_dropped.py --sounds ROOT [--backend A|B] [--pool tune|eval]
        [--lengths 30,45,60] [--offsets 0,1,2,3] [--languages es,fr,it,ru]

Whisper can end a 30 s window early and faster-whisper then skips the rest of
it; ``transcribe.unwritten`` finds the speech no word touches and the
recogniser reads it again (docs/transcribe.md, "Speech that was found but not
written").  This measures both on a language pool of Asterisk prompts (the
fixtures' rule and deal, ``tests/data/make_language_fixtures.py``; ``ROOT``
holds the unpacked prompt packages): the pool rotated by each offset, cut into
clips of each length (three per length and offset), each clip recognised with
the default model without the re-reading, then with it.  Printed per clip and
per language: WER against the prompts' texts and the prompts with no word
written.  A clip with less than 0.5 s of unwritten speech is not run again
(the re-reading needs 1 s in one piece of recognition, so its words are the
same by construction).

``--backend B`` runs the recogniser on the AVX2 path (as in
``lang_backends.py``: the backend is fixed when CTranslate2 loads, so the
script starts itself again with the backend's environment).  Results in
docs/languages.md, "Speech read again".
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from benchmarks.lang_backends import BACKENDS  # noqa: E402
from tests.engine.lang_scoring import wer  # noqa: E402

CLIPS_PER_CUT = 3
#: A clip whose unwritten speech is shorter than this is not run again.
CANDIDATE_MS = 500


def lost_prompts(words, timed: list[dict], n_ms: int) -> list[str]:
    """The prompts no word lies within 300 ms of."""
    covered = np.zeros(n_ms + 1, bool)
    for w in words:
        covered[max(0, w.s - 300) : w.e + 300] = True
    return [p["key"] for p in timed if not covered[p["start_ms"] : p["end_ms"]].any()]


def measure(args: argparse.Namespace) -> None:
    import make_language_fixtures as fixtures

    from tui.engine import transcribe

    adopted = transcribe.REREAD_MIN_MS
    totals: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for code in args.languages.split(","):
        usable = fixtures.prompts(args.sounds, code)
        if not usable:
            raise SystemExit(f"no {code} prompts under {args.sounds}: unpack the packages there")
        pool = usable[0::2] if args.pool == "tune" else usable[1::2]
        for seconds in (float(x) for x in args.lengths.split(",")):
            for offset in (int(x) for x in args.offsets.split(",")):
                rest = pool[offset:] + pool[:offset]
                for n in range(CLIPS_PER_CUT):
                    if not rest:
                        break
                    audio, timed = fixtures.assemble(fixtures.take(rest, seconds), code)
                    text = " ".join(p["text"] for p in timed)
                    speech = transcribe.speech_regions(audio)
                    n_ms = len(audio) * 1000 // fixtures.SR
                    transcribe.REREAD_MIN_MS = 10**9
                    words = transcribe.recognise(audio, speech).words
                    transcribe.REREAD_MIN_MS = CANDIDATE_MS
                    again = bool(transcribe.unwritten(words, speech))
                    transcribe.REREAD_MIN_MS = adopted
                    rows = {"before": words}
                    rows["after"] = transcribe.recognise(audio, speech).words if again else words
                    line = f"{code} {seconds:3.0f}s +{offset} #{n}"
                    for phase, found in rows.items():
                        rate = wer(" ".join(w.w for w in found), text)
                        lost = lost_prompts(found, timed, n_ms)
                        totals.setdefault((phase, code), []).append((rate, len(lost)))
                        line += f" | {phase} WER {rate:.3f} lost {len(lost)}"
                    print(line, flush=True)
    for phase in ("before", "after"):
        every = [r for (p, _), rows in totals.items() if p == phase for r in rows]
        per = " ".join(
            f"{code} {np.mean([r for r, _ in rows]):.3f}/{sum(k for _, k in rows)}"
            for (p, code), rows in totals.items()
            if p == phase
        )
        print(
            f"== {args.backend} {phase}: {len(every)} clips, mean WER "
            f"{np.mean([r for r, _ in every]):.4f}, prompts lost {sum(k for _, k in every)}"
            f" ({per})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", type=Path, required=True, help="the unpacked prompt packages")
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="A")
    parser.add_argument("--pool", choices=("tune", "eval"), default="tune")
    parser.add_argument("--lengths", default="30,45,60")
    parser.add_argument("--offsets", default="0,1,2,3")
    parser.add_argument("--languages", default="es,fr,it,ru")
    args = parser.parse_args()
    env = BACKENDS[args.backend]
    if any(os.environ.get(k) != v for k, v in env.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **env})
    measure(args)


if __name__ == "__main__":
    main()

"""Make the same-room speaker-labelling fixtures tests/data/room_*.webm + room_*.json.

Every voice goes through one simulated room (pyroomacoustics image-source
model: one impulse response per seat, one microphone, one noise bed, equal
loudness), so only the voice tells people apart; see benchmarks/sameroom.py.
Only *tuning* voices are used (the benchmark's evaluation voices stay unseen):
real Seattle city-council members from ``speakerbox==1.2.0``'s
``tests/data/diarized.zip`` (PyPI, MIT licence, Council Data Project) and the
Italian prompt voice of Debian ``asterisk-core-sounds-it-g722`` (CC-BY-SA-3.0).

Each fixture is Opus in WebM (mono, 16 kHz, 32 kb/s) with a JSON beside it:
the reference turns (ms), the speakers, the interjections and overlapping
backchannels (ms), and how it was made.

    python tests/data/room_fixtures.py [--src .evaldata/src] [--only NAME ...]   # rewrites them
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from benchmarks import sameroom_sources as sources  # noqa: E402
from benchmarks.conversations import SR  # noqa: E402
from benchmarks.sameroom import TUNE, build, english_words  # noqa: E402
from benchmarks.sameroom_rooms import Spec  # noqa: E402
from tests.data.conv_fixtures import write_webm  # noqa: E402

FIXTURES = (
    # Two people, short turns, interjections and "yeah"-style backchannels over the other.
    Spec(
        "room_2spk_backchannel", ("strauss", "herbold"), 30, (2.5, 7), (-0.2, 0.4), 3, 8, seed=301
    ),
    # Three people round one table, a phone-band recording.
    Spec(
        "room_3spk_phone",
        ("mosqueda", "sawant", "carlo_it"),
        30,
        (2.5, 7),
        (-0.3, 0.5),
        4,
        4,
        phone=True,
        seed=302,
    ),
    # One person: splitting them in two is the error this catches.
    Spec("room_1spk", ("sawant",), 24, (3, 8), seed=303),
    # Two minutes of a two-person phone call (the tuning set's call, another seed):
    # faster-whisper's bundled VAD stopped hearing such calls after the first minute
    # (tests/engine/test_speech_found.py).
    replace(next(s for s in TUNE if s.name == "tune_2spk_call"), name="room_2spk_call", seed=304),
)


def ms(t: float) -> int:
    return int(round(t * 1000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", type=Path, default=Path(__file__).resolve().parents[2] / ".evaldata" / "src"
    )
    parser.add_argument("--only", nargs="*", help="write only these fixtures (names)")
    args = parser.parse_args()
    sources.fetch(args.src)
    voices = sources.voices(args.src)
    words = english_words(args.src, voices)
    for spec in FIXTURES:
        if args.only and spec.name not in args.only:
            continue
        b = build(spec, voices, words)
        write_webm(HERE / f"{spec.name}.webm", b.audio)
        truth = {
            "source": "same-room simulation (benchmarks/sameroom.py) of real voices: speakerbox==1.2.0 "
            "(PyPI) diarized.zip council members, MIT; asterisk-core-sounds-it-g722 (Debian), "
            "CC-BY-SA-3.0; built by tests/data/room_fixtures.py",
            "speakers": sorted(spec.voices),
            "duration_ms": len(b.audio) * 1000 // SR,
            "phone_8khz": spec.phone,
            "room": b.room,
            "turns": [{"speaker": w, "start_ms": ms(a), "end_ms": ms(e)} for a, e, w in b.turns],
            "events": [
                {"kind": k, "speaker": w, "start_ms": ms(a), "end_ms": ms(e)}
                for a, e, w, k in b.events
            ],
        }
        (HERE / f"{spec.name}.json").write_text(json.dumps(truth, indent=1) + "\n")
        size = (HERE / f"{spec.name}.webm").stat().st_size
        kinds = [k for *_, k in b.events]
        print(
            f"{spec.name}: {len(b.audio) / SR:.0f} s, {len(b.turns)} turns, "
            f"{kinds.count('interjection')} interjections, {kinds.count('backchannel')} backchannels, "
            f"{size // 1024} KB"
        )


if __name__ == "__main__":
    main()

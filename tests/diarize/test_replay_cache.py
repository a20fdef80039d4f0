"""The replay: its cache of what the labeller heard is never read by other code than made it,
and the reconstruction variant it measures does what it says."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from benchmarks import replay_speakers as replay


def test_a_file_heard_by_other_code_is_heard_again(tmp_path: Path) -> None:
    path = tmp_path / "tune__a.heard.pkl"
    replay._keep(path, {"heard": 1})
    assert replay._cached(path) == {"heard": 1}
    assert not path.with_suffix(".part").exists()
    path.write_bytes(pickle.dumps({"code": "0" * 16, "value": {"heard": 1}}))
    assert replay._cached(path) is None
    path.write_bytes(pickle.dumps({"heard": 1}))  # a cache from before the fingerprints
    assert replay._cached(path) is None
    assert replay._cached(tmp_path / "none.heard.pkl") is None


def test_the_fingerprint_reads_the_code_not_its_comments() -> None:
    plain = "def f(x):\n    return x + 1\n"
    assert replay.syntax(
        'def f(x):\n    """Add one."""\n    return x + 1  # one\n'
    ) == replay.syntax(plain)
    assert replay.syntax("def f(x):\n    return x + 2\n") != replay.syntax(plain)
    assert len(replay.hearing_code()) == 16


def test_a_short_handover_is_split_and_an_interjection_kept() -> None:
    def track(*runs: tuple[int, int, int]) -> np.ndarray:
        active = np.zeros((300, 2), dtype=bool)
        for a, b, who in runs:
            active[a:b, who] = True
        return active

    # One hands over to the other with 0.4 s of both: split at the middle.
    handed = replay.handovers(track((0, 100, 0), (60, 200, 1)), shorter=50)
    assert handed[:80, 0].all() and not handed[80:, 0].any()
    assert not handed[:80, 1].any() and handed[80:200, 1].all()
    # A "yes" over someone who goes on: both kept.
    yes = track((0, 200, 0), (60, 100, 1))
    assert np.array_equal(replay.handovers(yes.copy(), shorter=50), yes)
    # Both longer than the handover allows, or starting together: kept.
    long = track((0, 100, 0), (40, 200, 1))
    assert np.array_equal(replay.handovers(long.copy(), shorter=50), long)
    together = track((60, 100, 0), (60, 200, 1))
    assert np.array_equal(replay.handovers(together.copy(), shorter=50), together)
    # Only a turn taken over is split when the one taking over must go on alone a while.
    turn = track((0, 100, 0), (60, 200, 1))
    assert not np.array_equal(replay.handovers(turn.copy(), shorter=50, goes_on=100), turn)
    reply = track((0, 100, 0), (60, 150, 1))
    assert np.array_equal(replay.handovers(reply.copy(), shorter=50, goes_on=100), reply)

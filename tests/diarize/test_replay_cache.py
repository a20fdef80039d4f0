"""The replay's cache of what the labeller heard is never read by other code than made it."""

from __future__ import annotations

import pickle
from pathlib import Path

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

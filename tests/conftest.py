"""Fixtures shared by every test: an isolated data dir, the repo's test media."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_server import live_server  # noqa: F401  (the shared live backend fixture)

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own REELSCRIPT_HOME, so no test reads the user's data."""
    home = tmp_path_factory.mktemp("reelscript-home")
    monkeypatch.setenv("REELSCRIPT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA

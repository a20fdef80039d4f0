"""Fixtures shared by every test: an isolated data dir, the repo's test media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live_server import TEAM_ENV, live_server  # noqa: F401  (the shared live backend fixture)

DATA = Path(__file__).resolve().parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--team",
        action="store_true",
        help="run the backend tests against a team backend (PostgreSQL, Redis, a worker)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--team"):
        os.environ[TEAM_ENV] = "1"


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

"""Fixtures shared by every test: an isolated data dir, the repo's test media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live_server import TEAM_ENV, live_server  # noqa: F401  (the shared live backend fixture)

DATA = Path(__file__).resolve().parent / "data"

#: Fixtures that run the speech models (the engine's pipeline, the speaker labeller, or
#: a backend's jobs): a test using one is ``slow``, left out by ``pytest -m "not slow"``.
MODEL_FIXTURES = frozenset(
    {"script_of", "convs", "labelled", "live_server", "rich_client", "speech_video",
     "demo_folder", "team", "crew"}
)  # fmt: skip
#: Test folders whose every test runs the models (speaker labelling, team workers).
MODEL_FOLDERS = frozenset({"diarize", "team"})
#: Costly session-wide fixtures: under pytest-xdist (``--dist loadgroup``) the tests using
#: one run in one process, so that it is made once, not once per process.
SHARED_FIXTURES = ("convs", "script_of", "live_server", "strict_server", "speech_video")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--team",
        action="store_true",
        help="run the backend tests against a team backend (PostgreSQL, Redis, a worker)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--team"):
        os.environ[TEAM_ENV] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that runs a model (see :data:`MODEL_FIXTURES`); tests that
    run one some other way carry ``@pytest.mark.slow`` themselves.  Group the tests of
    each costly session fixture (:data:`SHARED_FIXTURES`) for pytest-xdist."""
    for item in items:
        folder = item.path.relative_to(DATA.parent).parts[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        if folder in MODEL_FOLDERS or MODEL_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        shared = [name for name in SHARED_FIXTURES if name in fixtures]
        if folder == "team" or shared:
            item.add_marker(pytest.mark.xdist_group("team" if folder == "team" else shared[0]))


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

"""The backend suite's core against a team backend (PostgreSQL, Redis, a worker).

Runs, in a pytest of its own with ``--team``: the whole flow, the error
codes, the schemathesis checks of the OpenAPI schema, the faults (cancel,
disconnect and resume, heartbeats, stream limit), the security tests, edited
scripts (kept or replaced, the names given kept), and
the voice routes (per client identity; a worker naming a remembered voice).
Left to the laptop pass: the SIGKILL-and-restart fault test (a team's
equivalent is test_team.py's takeover) and the areas whose logic does not
depend on the database (uploads' parsing, the agent's wording, token
limits, which test_races.py races across two API processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.team_services import require_services

ROOT = Path(__file__).resolve().parents[2]
SUITE = [
    "tests/backend/test_flow.py",
    "tests/backend/test_errors.py",
    "tests/backend/test_schema.py",
    "tests/backend/test_faults.py",
    "tests/backend/test_security.py",
    "tests/backend/test_edited_script.py",
]


def _passes_with_team(*args: str) -> None:
    require_services()
    env = {k: v for k, v in os.environ.items() if k != "REELSCRIPT_HOME"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--team", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


@pytest.mark.timeout(900)  # the inner run's own limit
def test_the_backend_suite_passes_against_postgresql() -> None:
    _passes_with_team("-k", "not sigkill", *SUITE)


@pytest.mark.timeout(900)
def test_the_voice_routes_pass_against_postgresql() -> None:
    """Voices per client identity, and a team worker naming a remembered voice."""
    _passes_with_team("tests/voices/test_api.py")

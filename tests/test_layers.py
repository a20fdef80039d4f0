"""The layers, checked: engine <- backend <- client <- UI, and what importing the app loads.

The import contracts live in pyproject.toml ([tool.importlinter]) and run here
through ``lint-imports``; a module of ``tui/`` that none of them names is an
error, so a new module cannot slip past the layers unchecked.  The contracts name
packages (tui.app, tui.cli, tui.client, tui.watch), so a module added inside one of them is
covered by the package's place.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import tui

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: Modules both sides share: paths of the data dir, and which processes use a backend.
SHARED = {"tui.datadir", "tui.attachments"}
#: Heavy modules the app and the command line never need at import.
HEAVY = ("av", "torch", "faster_whisper", "ctranslate2", "numpy", "PIL", "fastapi", "uvicorn")


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_module_is_placed_in_the_contracts() -> None:
    """The backend and the engine may import none of the client's or the UI's packages, and
    all of those reach the backend only through the client: each list names every top-level
    module and package of tui/."""
    top = {f"tui.{m.name}" for m in pkgutil.iter_modules(tui.__path__)}
    outside = top - {"tui.engine", "tui.backend"}
    contracts = _contracts()
    backend = set(
        contracts["backend never imports textual, the client or any UI"]["forbidden_modules"]
    )
    engine = set(
        contracts["engine knows nothing of the backend, the client or the UI"]["forbidden_modules"]
    )
    through_client = set(
        contracts["UI reaches the backend only through the client"]["source_modules"]
    )
    assert outside - SHARED - backend == set(), "not kept from the backend"
    assert outside - SHARED - engine == set(), "not kept from the engine"
    assert outside - through_client == set(), "not checked to use the client"
    headless = set(
        contracts["watch and the client never import textual or the app"]["source_modules"]
    )
    assert {"tui.client", "tui.watch"} <= headless, "the headless packages are not checked"


def _loaded_by(statement: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after ``statement``."""
    code = f"import sys; {statement}; print(' '.join(m for m in {watched!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_importing_the_app_loads_no_media_or_model_library() -> None:
    """The app starts fast: PyAV, torch, faster-whisper (and the backend's server) load in
    the backend's processes, never with the app."""
    assert _loaded_by("import tui.app; from tui.app.app import ReelscriptApp, make_app") == []


def test_the_command_line_loads_nothing_heavy_until_a_command_runs() -> None:
    """`reelscript --help` is instant and `transcribe` never loads Textual."""
    statement = "import tui.cli; from tui.cli.main import main"
    assert _loaded_by(statement, (*HEAVY, "textual")) == []

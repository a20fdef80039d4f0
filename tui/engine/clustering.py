"""Global speaker clustering of (window, local speaker) embeddings, cannot-link constrained.

1. The reliable embeddings (enough clean speech, see
   :mod:`tui.engine.local_embeddings`) are clustered by average linkage on
   cosine similarity, with one constraint: two local speakers of one window
   are different people, so two clusters that share a window are never
   joined.  Merging stops when the most alike allowed pair is less alike than
   :data:`THRESHOLD`; the count is then pulled inside ``min_speakers``..
   ``max_speakers`` (``num_speakers`` fixes it).  The constraint is what keeps
   two voices apart on a short call: without it a loose threshold merges
   them; with it the count holds across a wide range of thresholds.
2. A cluster with less than :data:`MIN_SPEAKER_MS` of clean speech (a cough, a
   laugh, crosstalk) is dissolved, unless the count would fall below the
   minimum.
3. Every embedding, reliable or not, goes to a speaker: per window, the
   one-to-one assignment of its local speakers to speakers (Hungarian) that
   is most alike in total, so the window's local speakers stay different
   people.

Long files: at most :data:`MAX_POINTS` reliable embeddings, spread evenly over
the file, enter the (quadratic) linkage; step 3 places every embedding.
Memory stays linear in the number of embeddings however long the recording
is, and the clustering is global (one set of speakers for the whole file,
never per chunk).

The thresholds were measured on the TUNING voices only by
``benchmarks/calibrate_encoder.py``, whose docstring has the rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Two clusters whose members are on average less alike than this are two people
#: (cosine similarity of CAM++ embeddings of window-speaker tracks): the equal-error
#: similarity of same- and different-person pairs on the tuning conversations
#: (0.431; 3,439 and 10,953 pairs), rounded to 0.05.
THRESHOLD = 0.45
#: Two local speakers of one window more alike than this are one person
#: (:func:`tui.engine.local_embeddings.fuse_alike`); below it the cannot-link holds.
#: The highest similarity of two different people in one window on the tuning
#: conversations (0.517), rounded up to 0.05.
FUSE_ABOVE = 0.55
#: A speaker whose blocks fall in two groups less alike than this is two people:
#: the equal-error similarity of same- and different-person *block* pairs on
#: the tuning conversations (0.373; 28,751 and 105,499 pairs), rounded to 0.05.
#: (A group's centroid is steadier than one block, so one person's two groups
#: sit well above it.)
SPLIT_BELOW = 0.35
#: Each group of a split needs this many blocks with MIN_CLEAN_MS of clean speech.
MIN_SPLIT_BLOCKS = 4
#: A cluster with less clean speech than this (counted once, though every
#: moment is seen by two windows) is not a speaker of its own.
MIN_SPEAKER_MS = 1000
#: The most speakers estimated when the user gives no --max-speakers.
MAX_SPEAKERS = 20
#: Above this many reliable embeddings, the linkage sees an even subsample.
MAX_POINTS = 1000


def cluster(
    vectors: np.ndarray,
    windows: np.ndarray,
    locals_: np.ndarray,
    blocks: np.ndarray,
    reliable: np.ndarray,
    clean_ms: np.ndarray,
    overlap_factor: float = 0.5,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker (0..k-1) per embedding, and the k centroids (k, dim), L2-normed.

    ``windows``, ``locals_`` and ``blocks`` say which window, local speaker
    and block of it each embedding is of: two local speakers of one window
    never go together (the cannot-link rule);
    ``overlap_factor`` the share of each window's speech no other window has
    seen (step / window), used to count a cluster's speech once.
    ``threshold`` defaults to :data:`THRESHOLD`.
    """
    threshold = THRESHOLD if threshold is None else threshold
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros((0, vectors.shape[1]), dtype=np.float32)
    core = np.flatnonzero(reliable)
    if len(core) == 0:
        core = np.arange(n)
    if len(core) > MAX_POINTS:
        core = core[np.linspace(0, len(core) - 1, MAX_POINTS).astype(int)]
    points = _normalise(vectors[core])
    lo = max(1, min_speakers or 1)
    hi = max(lo, max_speakers or MAX_SPEAKERS)
    if num_speakers:
        lo = hi = num_speakers
    cannot = _cannot_link(windows[core], locals_[core])
    labels = constrained_linkage(points, cannot, lo, hi, threshold)
    if not num_speakers:
        labels = _dissolve_small(points, cannot, labels, clean_ms[core] * overlap_factor, lo)
    centroids = _centroids(points, labels)
    groups = windows * (blocks.max(initial=0) + 1) + blocks
    assigned = assign(_normalise(vectors), groups, centroids)
    # A second pass: centroids from every reliable embedding placed.
    mask = np.asarray(reliable, dtype=bool) & (assigned >= 0)
    if mask.any():
        refined = centroids.copy()
        for j in range(len(centroids)):
            members = vectors[mask & (assigned == j)]
            if len(members):
                refined[j] = _normalise(members.mean(axis=0, keepdims=True))[0]
        assigned = assign(_normalise(vectors), groups, refined)
        centroids = refined
    return assigned, centroids


def _cannot_link(windows: np.ndarray, locals_: np.ndarray) -> np.ndarray:
    """(n, n) True where two embeddings are two local speakers of one window."""
    return (windows[:, None] == windows[None, :]) & (locals_[:, None] != locals_[None, :])


def constrained_linkage(
    points: np.ndarray, cannot: np.ndarray, lo: int, hi: int, threshold: float
) -> np.ndarray:
    """Average-linkage clustering that never joins two clusters with a cannot-link between them.

    Merges while the count is above ``hi``, or while the best allowed pair is
    at least ``threshold`` alike and the count is above ``lo``.
    """
    n = len(points)
    sim = (points @ points.T).astype(np.float64)
    size = np.ones(n)
    alive = np.ones(n, dtype=bool)
    forbidden = cannot.copy()
    labels = np.arange(n)
    k = n
    while k > lo:
        masked = np.where(forbidden | ~alive[:, None] | ~alive[None, :], -np.inf, sim)
        np.fill_diagonal(masked, -np.inf)
        flat = int(np.argmax(masked))
        i, j = divmod(flat, n)
        best = masked[i, j]
        if not np.isfinite(best) or (best < threshold and k <= hi):
            break
        # Lance-Williams update for average linkage: i absorbs j.
        sim[i] = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[:, i] = sim[i]
        size[i] += size[j]
        forbidden[i] |= forbidden[j]
        forbidden[:, i] = forbidden[i]
        alive[j] = False
        labels[labels == j] = i
        k -= 1
    return _compact(labels)


def _dissolve_small(
    points: np.ndarray, cannot: np.ndarray, labels: np.ndarray, weight: np.ndarray, floor: int
) -> np.ndarray:
    """Clusters with less than MIN_SPEAKER_MS of speech give their members to the others."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        amount = np.array([weight[labels == j].sum() for j in ids])
        if len(ids) <= floor or amount.min() >= MIN_SPEAKER_MS:
            return _compact(labels)
        small = ids[int(np.argmin(amount))]
        rest = ids[ids != small]
        centroids = _centroids(points, np.where(labels == small, -1, labels), keep=rest)
        members = np.flatnonzero(labels == small)
        # A member may not join a speaker that already talks in its window.
        for m in members:
            sims = centroids @ points[m]
            taken = {int(labels[o]) for o in np.flatnonzero(cannot[m])}
            order = [int(rest[t]) for t in np.argsort(-sims) if int(rest[t]) not in taken]
            labels[m] = order[0] if order else small
        if np.any(labels == small):
            # Nowhere to go without breaking a window apart: keep it as a speaker.
            weight = weight.copy()
            weight[labels == small] = MIN_SPEAKER_MS


def assign(vectors: np.ndarray, windows: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Per group (a window's block), its embeddings to distinct centroids, most alike in total.

    -1 where no centroid is left.
    """
    out = np.full(len(vectors), -1, dtype=int)
    if len(centroids) == 0:
        return out
    sims = vectors @ centroids.T
    order = np.argsort(windows, kind="stable")
    bounds = np.flatnonzero(np.diff(windows[order])) + 1
    for group in np.split(order, bounds):
        rows, cols = linear_sum_assignment(-sims[group])
        out[group[rows]] = cols
    return out


def assign_blocks(
    vectors: np.ndarray,
    windows: np.ndarray,
    locals_: np.ndarray,
    blocks: np.ndarray,
    track_sims: dict[tuple[int, int], np.ndarray],
    centroids: np.ndarray,
) -> np.ndarray:
    """Per window block, its local speakers' blocks to distinct speakers (Hungarian).

    A block's score for a speaker is its own similarity plus its whole
    track's (``track_sims[(window, local)]``): a block leaves its track's
    speaker only when its own voice clearly belongs to another.  -1 where no
    speaker is left.
    """
    out = np.full(len(vectors), -1, dtype=int)
    if len(centroids) == 0 or len(vectors) == 0:
        return out
    sims = _normalise(vectors) @ centroids.T
    zero = np.zeros(len(centroids), dtype=np.float32)
    for i in range(len(sims)):
        sims[i] += track_sims.get((int(windows[i]), int(locals_[i])), zero)
    group = windows * (int(blocks.max()) + 1) + blocks
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for rows in np.split(order, bounds):
        r, c = linear_sum_assignment(-sims[rows])
        out[rows[r]] = c
    return out


def split_mixed(
    vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray, most: int
) -> np.ndarray:
    """Centroids, with every speaker whose reliable blocks form two distinct voices split in two.

    ``vectors`` are the reliable blocks' embeddings, ``labels`` the speaker
    each was given.  The segmentation sometimes keeps two voices that take
    quick turns on one local track all along; their blocks then fall in two
    groups (2-means) whose centroids are less alike than SPLIT_BELOW.  At
    most ``most`` speakers in all.
    """
    from sklearn.cluster import KMeans

    points = _normalise(vectors)
    centroids = centroids.copy()
    for _ in range(MAX_SPEAKERS):
        if len(centroids) >= most:
            break
        best: tuple[float, int, np.ndarray] | None = None
        for j in range(len(centroids)):
            members = points[labels == j]
            if len(members) < 2 * MIN_SPLIT_BLOCKS:
                continue
            halves = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(members)
            if np.bincount(halves, minlength=2).min() < MIN_SPLIT_BLOCKS:
                continue
            pair = _normalise(np.stack([members[halves == h].mean(axis=0) for h in (0, 1)]))
            sim = float(pair[0] @ pair[1])
            if sim < SPLIT_BELOW and (best is None or sim < best[0]):
                best = (sim, j, pair)
        if best is None:
            break
        _, j, pair = best
        centroids = np.vstack([centroids[:j], pair, centroids[j + 1 :]])
        labels = np.argmax(points @ centroids.T, axis=1)
    return centroids


def _compact(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(int)


def _centroids(
    points: np.ndarray, labels: np.ndarray, keep: Sequence[int] | None = None
) -> np.ndarray:
    ids = np.unique(labels[labels >= 0]) if keep is None else np.asarray(keep)
    return _normalise(np.stack([points[labels == j].mean(axis=0) for j in ids]))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)

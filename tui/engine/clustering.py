"""Clustering speaker embeddings into speakers, with an estimate of how many there are.

Average-linkage agglomerative clustering on cosine distance.  The speaker
count, when the user does not give it, is where the dendrogram's merge
distance first exceeds :data:`MERGE_THRESHOLD` -- a value chosen on held-out
real recordings (the *tuning* council members of benchmarks/conversations.py,
never the test fixtures or the evaluation conversations) -- then clamped to
``min_speakers``/``max_speakers``.

Long files: at most :data:`MAX_POINTS` embeddings, spread evenly over the
file, enter the (quadratic) linkage; every embedding is then given to the
nearest speaker centroid.  So memory stays linear in the number of
embeddings however long the recording is, and the clustering is still global
(one set of speakers for the whole file, never per chunk).
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

#: Cosine distance at which two groups of windows are no longer the same voice.
MERGE_THRESHOLD = 0.30
#: Above this many embeddings, the linkage sees an even subsample.
MAX_POINTS = 1500
#: A found speaker with fewer windows than this is an outlier (a cough, a
#: laugh, crosstalk) and joins its nearest speaker -- unless the user fixed
#: the count.
MIN_CLUSTER_WINDOWS = 2
#: Refinement passes: centroids recomputed from all windows, windows reassigned.
REFINE_PASSES = 2


def estimate_labels(
    embeddings: np.ndarray,
    reliable: np.ndarray | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float = MERGE_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker label per embedding (0..k-1) and the k centroids (k, dim), L2-normed.

    ``reliable`` marks the embeddings long enough to shape the clusters; the
    others (very short speech) only get assigned to the nearest centroid.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    mask = np.ones(n, dtype=bool) if reliable is None else np.asarray(reliable, dtype=bool)
    if not mask.any():
        mask = np.ones(n, dtype=bool)
    core = np.flatnonzero(mask)
    if len(core) > MAX_POINTS:
        core = core[np.linspace(0, len(core) - 1, MAX_POINTS).astype(int)]
    points = _normalise(embeddings[core])

    lo = max(1, min_speakers or 1)
    hi = max(lo, max_speakers or len(points))
    if len(points) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        tree = linkage(points, method="average", metric="cosine")
        if num_speakers:
            k = num_speakers
        else:
            k = int(fcluster(tree, t=threshold, criterion="distance").max())
            k = min(max(k, lo), hi)
        k = min(k, len(points))
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        if not num_speakers:
            labels = _absorb_outliers(points, labels, floor=lo)
    centroids = _centroids(points, labels)
    all_points = _normalise(embeddings)
    for _ in range(REFINE_PASSES):
        assigned = np.argmax(all_points @ centroids.T, axis=1)
        # Only reliable windows move the centroids; a speaker that lost all of
        # them keeps its old centroid rather than vanishing.
        for j in range(len(centroids)):
            members = all_points[mask & (assigned == j)]
            if len(members):
                centroids[j] = _normalise(members.mean(axis=0, keepdims=True))[0]
    assigned = np.argmax(all_points @ centroids.T, axis=1)
    used = np.unique(assigned)
    remap = {int(old): new for new, old in enumerate(used)}
    return np.array([remap[int(a)] for a in assigned], dtype=int), centroids[used]


def _absorb_outliers(points: np.ndarray, labels: np.ndarray, floor: int) -> np.ndarray:
    """Merge clusters of fewer than MIN_CLUSTER_WINDOWS into their nearest, keeping >= floor."""
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= floor or counts.min() >= MIN_CLUSTER_WINDOWS:
            return _compact(labels)
        small = ids[np.argmin(counts)]
        centroids = {int(i): points[labels == i].mean(axis=0) for i in ids}
        target = max(
            (i for i in centroids if i != small),
            key=lambda i: float(np.dot(centroids[i], centroids[int(small)])),
        )
        labels[labels == small] = target


def _compact(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(int)


def _centroids(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    labels = _compact(labels)
    k = int(labels.max()) + 1
    return _normalise(np.stack([points[labels == j].mean(axis=0) for j in range(k)]))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)

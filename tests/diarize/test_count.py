"""The speaker count: the eigengap of 1.5 s pieces of the speech (one every 1.5 to 3 s), each embedded alone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diarize.scoring import Conv
from tui.engine import campplus, clustering, local_embeddings, reconstruct, segmentation
from tui.engine.vad import gain


def _pieces(conv: Conv) -> tuple[np.ndarray, list[tuple[int, int]], float]:
    return _pieces_of(conv.audio)


def _pieces_of(audio: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]], float]:
    scale = float(gain(audio))
    seg = segmentation.segment(audio, gain=scale)
    regions = reconstruct.Grid(seg, len(audio) * 1000 // 16000).speech_regions(pad_ms=0)
    return local_embeddings.pieces(audio, regions, gain=scale), regions, scale


@pytest.mark.parametrize("name", ["conv_2spk_short", "conv_3spk_mixed", "conv_4spk_phone"])
def test_the_pieces_count_the_voices(convs: dict[str, Conv], name: str) -> None:
    """Fixtures whose largest eigengap is clearly the largest (1.35x the next or more).

    (room_1spk has too few pieces for the eigengap: the blocks' linkage counts
    it, held by the labeller's own count test in test_real_speech.py.)

    On the 30 s three-voice clip room_3spk_phone two gaps are within 4 %
    (6 and 3 clusters) and the count of 3 rests on k-means leaving three
    clusters of 4 pieces or more; the labeller's own count test holds that
    file (test_real_speech.py), not this one.
    """
    conv = convs[name]
    pieces, _, _ = _pieces(conv)
    assert clustering.spectral_count(pieces) == len(conv.speakers)


def test_pieces_tile_the_speech_and_each_is_embedded_alone(convs: dict[str, Conv]) -> None:
    conv = convs["room_3spk_phone"]
    pieces, regions, scale = _pieces(conv)
    size = local_embeddings.PIECE_MS
    step = local_embeddings.piece_step(sum(e - s for s, e in regions))
    assert step == size  # a short clip: a piece every 1.5 s
    cut = [r for group in local_embeddings._groups(regions) for r in group]
    spans = [local_embeddings._piece_spans(s, e, step) for s, e in cut]
    count = [len(x) for x in spans]
    assert len(pieces) == sum(count) > 15
    for (s, e), x in zip(cut, spans, strict=True):  # pieces start every step, the last ends with e
        if e - s >= local_embeddings.MIN_PIECE_MS:
            assert [a for a, _ in x[:-1]] == list(range(s, s + step * (len(x) - 1), step))
            assert x[-1][1] == e and all(b - a == size for a, b in x[:-1])
    assert np.allclose(np.linalg.norm(pieces, axis=1), 1, atol=1e-4)
    # Pieces of a region, embedded on their own, are the same vectors: its first and
    # its last (which ends with the region, reaching back a whole piece).
    i = next(i for i, (s, e) in enumerate(cut) if e - s > 2 * size and (e - s) % size)
    s, e = cut[i]
    before = sum(count[:i])
    for (a, b), row in (((s, s + size), before), ((e - size, e), before + count[i] - 1)):
        feats = campplus.features(conv.audio[a * 16 : b * 16] * np.float32(scale))
        alone = campplus.embed_spans(feats, [(0, len(feats))])[0]
        assert float(alone @ pieces[row]) > 0.999


def test_too_few_pieces_leave_the_count_to_the_threshold(convs: dict[str, Conv]) -> None:
    pieces, _, _ = _pieces(convs["room_2spk_backchannel"])
    estimate, exact = clustering.COUNT_MIN_PIECES_ESTIMATE, clustering.COUNT_MIN_PIECES
    assert len(pieces) >= estimate
    assert clustering.spectral_count(pieces[: estimate - 1]) is None
    assert clustering.spectral_count(pieces[:estimate]) is not None
    # The user's count is clustered on the pieces from fewer of them.
    assert clustering.spectral_speakers(pieces[: exact - 1], exact=2) is None
    assert len(clustering.spectral_speakers(pieces[:exact], exact=2)) == 2


def test_more_speakers_asked_for_than_there_are_pieces_gives_no_count(
    convs: dict[str, Conv],
) -> None:
    """The labeller then clusters the blocks instead (a k-means of 14 clusters of 12
    pieces used to stop the whole run with a ValueError)."""
    pieces, _, _ = _pieces(convs["room_2spk_backchannel"])
    few = pieces[: clustering.COUNT_MIN_PIECES_ESTIMATE + 2]
    assert clustering.spectral_speakers(few, min_speakers=len(few) + 2) is None
    assert clustering.spectral_speakers(few, exact=len(few) + 1) is None
    assert len(clustering.spectral_speakers(few, min_speakers=len(few) - 1)) >= len(few) - 1


def test_the_users_bounds_hold(convs: dict[str, Conv]) -> None:
    pieces, _, _ = _pieces(convs["room_2spk_backchannel"])
    assert clustering.spectral_count(pieces, min_speakers=4) >= 4
    assert clustering.spectral_count(pieces, max_speakers=1) == 1
    assert clustering.spectral_count(pieces, min_speakers=2, max_speakers=3) == 2


def test_a_long_file_is_counted_on_an_even_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COUNT_MAX_PIECES the graph is built on an even subsample (memory n^2 bounded)."""
    from tests.diarize.scoring import DATA
    from tui.engine.media import decode_audio

    pieces, _, _ = _pieces_of(decode_audio(DATA / "room_2spk_call.webm"))  # 2 minutes
    assert len(pieces) > 30
    most = len(pieces) * 2 // 3
    sample = pieces[np.linspace(0, len(pieces) - 1, most).astype(int)]
    monkeypatch.setattr(clustering, "COUNT_MAX_PIECES", most)
    seen = []
    graph = clustering._laplacian
    monkeypatch.setattr(clustering, "_laplacian", lambda x: seen.append((len(x),) * 2) or graph(x))
    assert clustering.spectral_count(pieces) == clustering.spectral_count(sample) == 2
    assert seen == [(most, most), (most, most)]


def test_more_speech_gets_pieces_further_apart() -> None:
    size, wanted = local_embeddings.PIECE_MS, local_embeddings.PIECES_WANTED
    assert local_embeddings.piece_step(30_000) == size
    assert local_embeddings.piece_step(wanted * 2000) == 2000
    assert local_embeddings.piece_step(3_600_000) == local_embeddings.MAX_PIECE_STEP_MS
    assert local_embeddings._piece_spans(0, 7000, 3000) == [(0, 1500), (3000, 4500), (5500, 7000)]
    assert local_embeddings._piece_spans(0, 1000, 3000) == [(0, 1000)]
    assert local_embeddings._piece_spans(0, 200, 3000) == []


def test_the_kmeans_finds_separate_groups_and_keeps_its_best_start() -> None:
    """The count's k-means: separate groups come out whole, in any order, the same every time;
    of its starts the one with the least spread is kept (never a worse one than seed 0's)."""
    from scipy.cluster.vq import kmeans2

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(4, 4)) * 10
    truth = np.repeat(np.arange(4), [30, 5, 12, 40])
    points = centres[truth] + rng.normal(size=(len(truth), 4)) * 0.3
    labels = clustering.kmeans(points, 4)
    assert len(set(zip(truth.tolist(), labels.tolist(), strict=True))) == 4  # one label per group
    assert np.array_equal(labels, clustering.kmeans(points, 4))

    def spread(labels: np.ndarray) -> float:
        groups = [overlapping[labels == j] for j in set(labels.tolist())]
        return float(sum(((g - g.mean(axis=0)) ** 2).sum() for g in groups))

    overlapping = rng.normal(size=(200, 3))  # no true groups: starts differ
    spreads = [
        spread(kmeans2(overlapping, 5, 300, minit="++", rng=np.random.default_rng(s))[1])
        for s in range(clustering.KMEANS_STARTS)
    ]
    assert len(set(np.round(spreads, 6))) > 1  # the starts do not all agree here
    assert spread(clustering.kmeans(overlapping, 5)) == pytest.approx(min(spreads))


def test_the_kmeans_of_fewer_distinct_points_than_clusters() -> None:
    assert clustering.kmeans(np.zeros((5, 3)), 3).tolist() == [0] * 5
    same = np.r_[np.zeros((3, 2)), np.ones((3, 2))]
    assert len(set(clustering.kmeans(same, 3).tolist())) == 2

"""Placing the local speakers' blocks on the speakers of the count's clusters of pieces.

Array-level checks of :func:`tui.engine.builtin_diarizer._piece_speakers`: the
rules that the benchmark figures rest on (one person per local speaker of a
block, no speaker with too little speech, never fewer than the user's
minimum).  The real models run on real fixtures in test_real_speech.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tui.engine import clustering, local_embeddings, segmentation
from tui.engine.builtin_diarizer import _piece_speakers
from tui.engine.local_embeddings import LocalEmbeddings

DIM = 192


def _voice(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM)
    return v / np.linalg.norm(v)


def _near(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = v + 0.3 * rng.standard_normal(DIM) / np.sqrt(DIM)
    return x / np.linalg.norm(x)


def _case(voices_per_block: list[list[int]], clean_ms: float = 2000.0):
    """Blocks in order (4 per window), each with the given voices as local speakers 0, 1, ..."""
    rng = np.random.default_rng(0)
    voices = [_voice(k) for k in range(3)]
    rows: dict[str, list] = {f: [] for f in ("window", "local", "block", "vectors", "clean_ms")}
    for i, who in enumerate(voices_per_block):
        for local, v in enumerate(who):
            rows["window"].append(i // local_embeddings.BLOCKS)
            rows["local"].append(local)
            rows["block"].append(i % local_embeddings.BLOCKS)
            rows["vectors"].append(_near(voices[v], rng))
            rows["clean_ms"].append(clean_ms)
    n = len(rows["window"])
    blocks = LocalEmbeddings(
        np.array(rows["window"]),
        np.array(rows["local"]),
        np.array(rows["block"]),
        np.array(rows["vectors"], dtype=np.float32),
        np.ones(n, bool),
        np.array(rows["clean_ms"]),
    )
    windows = -(-len(voices_per_block) // local_embeddings.BLOCKS)
    seg = segmentation.Segmentation(
        [5000 * w for w in range(windows)],
        np.zeros((windows, segmentation.FRAMES_PER_WINDOW, segmentation.LOCAL_SPEAKERS), bool),
    )
    none = LocalEmbeddings(
        *(np.zeros(0, int),) * 3, np.zeros((0, DIM)), np.zeros(0, bool), np.zeros(0)
    )
    return seg, none, blocks, np.array(voices, dtype=np.float32)


def test_blocks_go_to_their_voice_and_two_local_speakers_stay_two_people() -> None:
    seg, tracks, blocks, voices = _case([[0], [0, 1], [1], [1, 0], [0], [0, 1], [1], [0]])
    mapping, centroids = _piece_speakers(seg, tracks, blocks, voices[:2], 1, 5.0)
    assert len(centroids) == 2
    got = mapping[blocks.window, blocks.local, blocks.block]
    truth = np.array([0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0])
    assert (got == truth).all()


def test_a_speaker_with_too_little_speech_is_dropped_unless_the_user_asked_for_it() -> None:
    # voice 2 speaks in one block only, 1 s: under MIN_SPEAKER_MS once the two windows
    # that see every moment are counted once
    seg, tracks, blocks, voices = _case([[0], [1], [0], [1], [0, 2], [1], [0], [1]])
    blocks.clean_ms[(blocks.window == 1) & (blocks.local == 1)] = 1000.0
    assert 1000.0 * 0.5 < clustering.MIN_SPEAKER_MS
    _, centroids = _piece_speakers(seg, tracks, blocks, voices, 1, 5.0)
    assert len(centroids) == 2
    _, kept = _piece_speakers(seg, tracks, blocks, voices, 3, 5.0)
    assert len(kept) == 3


def _units(rows: list[tuple[int, int, int, np.ndarray]]) -> LocalEmbeddings:
    """(window, local, unit, vector) rows with 0.5 s of clean speech each."""
    n = len(rows)
    return LocalEmbeddings(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows], dtype=np.float32),
        np.ones(n, bool),
        np.full(n, 500.0),
    )


def test_a_unit_takes_its_voice_back_where_the_other_track_is_silent() -> None:
    """One person passed from local track 0 to track 1 within a block: the block gave
    track 1 somebody else; where track 0 no longer talks, track 1's units take
    their own voice back.  Where both talk, they stay two people."""
    from tui.engine.builtin_diarizer import _unit_speakers

    a, b = _voice(0), _voice(1)
    mapping = np.full((1, segmentation.LOCAL_SPEAKERS, local_embeddings.BLOCKS), -1)
    mapping[0, 0, 0], mapping[0, 1, 0] = 0, 1  # block 0: track 0 is A, track 1 "B"
    units = _units(
        [(0, 0, 0, a), (0, 0, 1, a)]  # A on track 0 in units 0 and 1
        + [(0, 1, 1, a), (0, 1, 3, a), (0, 1, 4, b)]  # A on track 1 from unit 1, then B
    )
    out = _cells_to_units(_unit_speakers(mapping, _voices(units), np.stack([a, b])))
    assert out[0, 0, :2].tolist() == [0, 0]
    assert out[0, 1, 1] == 1  # track 0 talks here too, as A: track 1 cannot be A
    assert out[0, 1, 3] == 0  # track 0 is silent: A again
    assert out[0, 1, 4] == 1


def test_a_yes_across_two_grid_units_keeps_its_speaker_by_the_shifted_unit() -> None:
    """A "Yes." of B from the middle of unit 2 to the middle of unit 3, on A's track: each
    grid unit is half A, half B, and more alike A; the shifted unit between them holds
    only B, is more alike B than they are A, and gives its two cells to B."""
    from tui.engine.builtin_diarizer import _unit_speakers

    a, b = _voice(0), _voice(1)
    half = (a + b) / np.linalg.norm(a + b)
    mixed = (0.9 * a + 0.1 * half) / np.linalg.norm(0.9 * a + 0.1 * half)
    mapping = np.full((1, segmentation.LOCAL_SPEAKERS, local_embeddings.BLOCKS), -1)
    mapping[0, 0, 0] = 0  # block 0: track 0 is A
    grid = _units([(0, 0, u, a) for u in (0, 1, 4)] + [(0, 0, 2, mixed), (0, 0, 3, mixed)])
    shifted = _units([(0, 0, j, a) for j in (0, 1, 3)] + [(0, 0, 2, b)])  # cells 5-6: B
    centroids = np.stack([a, b])
    out = _unit_speakers(mapping, _voices(grid, shifted), centroids)
    assert out[0, 0, :10].tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0]
    on_grid = _unit_speakers(mapping, _voices(grid), centroids)
    assert on_grid[0, 0, :10].tolist() == [0] * 10  # without the shifted units: lost


def _voices(units: LocalEmbeddings, shifted: LocalEmbeddings | None = None):
    from tui.engine.builtin_diarizer import Voices

    none = local_embeddings._empty()
    return Voices(none, none, units, shifted or none, np.zeros((0, DIM), np.float32))


def _cells_to_units(cells: np.ndarray) -> np.ndarray:
    """(windows, 3, cells) -> (windows, 3, units), where both cells of a unit agree."""
    per = local_embeddings.CELLS_PER_UNIT
    assert (cells[:, :, ::per] == cells[:, :, 1::per]).all()
    return cells[:, :, ::per]


def test_an_even_disagreement_of_two_windows_goes_to_the_more_confident_cell() -> None:
    """Two windows (0-10 s and 5-15 s) hear one voice from 6 to 7 s; the first calls it
    speaker 1, the second speaker 0.  Each has one vote: the cell read with more
    confidence decides, whichever speaker number it carries."""
    from tui.engine import reconstruct

    frames = segmentation.FRAMES_PER_WINDOW
    activity = np.zeros((2, frames, segmentation.LOCAL_SPEAKERS), bool)
    at = np.arange(frames) * segmentation.FRAME_STEP_S + segmentation.FRAME_DURATION_S / 2
    activity[0, (at >= 6) & (at < 7), 0] = True
    activity[1, (at >= 1) & (at < 2), 0] = True
    grid = reconstruct.Grid(segmentation.Segmentation([0, 5000], activity), 15_000)
    mapping = np.full((2, segmentation.LOCAL_SPEAKERS, local_embeddings.CELLS), -1)
    mapping[0, 0], mapping[1, 0] = 1, 0
    heard = slice(650, 690)  # 6.5-6.9 s, in 10 ms frames
    for sure, expected in ((0, 1), (1, 0)):
        confidence = np.zeros(mapping.shape, np.float32)
        confidence[sure, 0] = 0.8
        confidence[1 - sure, 0] = 0.4
        active, _ = grid.speakers(mapping, 2, confidence)
        assert active[heard, expected].all() and not active[heard, 1 - expected].any()
    active, _ = grid.speakers(mapping, 2)
    assert active[heard, 0].all()  # without confidences: the lower speaker number


def test_the_count_of_who_talks_can_follow_the_models_probabilities() -> None:
    """Two windows hear 6-7 s: the first two voices (unsure: 1.2 expected), the second
    one voice (sure: 1.0).  By the windows' most likely classes 1.5 talk there, rounded
    up to 2; by the expected numbers 1.1, so one, the voice both windows hear."""
    from tui.engine import reconstruct

    frames = segmentation.FRAMES_PER_WINDOW
    activity = np.zeros((2, frames, segmentation.LOCAL_SPEAKERS), bool)
    expected = np.zeros((2, frames), np.float16)
    at = np.arange(frames) * segmentation.FRAME_STEP_S + segmentation.FRAME_DURATION_S / 2
    first, second = (at >= 6) & (at < 7), (at >= 1) & (at < 2)
    activity[0, first, 0] = activity[0, first, 1] = True
    activity[1, second, 0] = True
    expected[0, first], expected[1, second] = 1.2, 1.0
    seg = segmentation.Segmentation([0, 5000], activity, expected)
    mapping = np.full((2, segmentation.LOCAL_SPEAKERS, local_embeddings.CELLS), -1)
    mapping[0, 0], mapping[0, 1], mapping[1, 0] = 0, 1, 0
    heard = slice(650, 690)  # 6.5-6.9 s, in 10 ms frames
    soft, _ = reconstruct.Grid(seg, 15_000).speakers(mapping, 2)
    assert soft[heard, 0].all() and not soft[heard, 1].any()
    # Without the probabilities kept, the most likely classes count (halves up).
    for rounding in (0.5, reconstruct.COUNT_ROUNDING):
        hard, _ = reconstruct.Grid(replace(seg, expected=None), 15_000, rounding).speakers(
            mapping, 2
        )
        assert hard[heard, 0].all() and hard[heard, 1].all()

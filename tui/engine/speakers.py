"""Speaker embeddings from resemblyzer's pretrained voice encoder, batched and cached.

Why this module does not ``import resemblyzer``: the package's ``__init__``
imports ``resemblyzer.audio``, which imports ``webrtcvad``, which imports
``pkg_resources`` -- gone from current setuptools, so the import fails in a
fresh environment.  We need neither that VAD (Silero does our speech
detection) nor librosa's audio loading, only the network and its weights.  So
we rebuild the network here exactly as ``resemblyzer.voice_encoder`` defines it
(3-layer LSTM 40->256, a linear layer, ReLU, L2 norm) and load the package's own
``pretrained.pt``, found on disk through the import system without executing
the package.  No download happens, ever; nothing is monkey-patched.

The mel spectrogram is computed once for the whole file (as
``resemblyzer.audio.wav_to_mel_spectrogram`` does: 25 ms Hann window, 10 ms
hop, 40 mel bands, power, not log) and windows are slices of it, so
overlapping windows cost nothing extra to featurise.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tui.engine.errors import EngineError

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: one mel frame = 10 ms
N_MELS = 40
#: The encoder was trained on 1.6 s partial utterances (160 frames).
WINDOW_FRAMES = 160
#: resemblyzer normalises utterances to -30 dBFS; we do the same per window.
TARGET_DBFS = -30.0
#: With ``band_limit``, power above this frequency is dropped (see ``mel_spectrogram``).
PHONE_BAND_HZ = 3800.0
#: A region whose energy falls by more than this from 3.2-3.5 kHz to 4.7-5.5 kHz
#: was band-limited to 8 kHz sampling (phone); full-band speech mostly falls
#: by less than 15 dB, phone speech by more than 27 dB.
PHONE_CLIFF_DB = 22.0
#: The diarizer gives a short stretch another speaker when its embedding
#: resembles them this much more than the speaker around it (for CAM++'s,
#: see :mod:`tui.engine.campplus`; benchmarks/calibrate_encoder.py's rule
#: gives 0.05 for these embeddings too).
LOCAL_MARGIN = 0.05

_lock = threading.Lock()
_thread_lock = threading.Lock()
_encoder: _VoiceEncoder | None = None
_mel_basis: np.ndarray | None = None


class EncoderUnavailable(EngineError):
    """resemblyzer (and so its pretrained weights) is not installed."""

    api_code = 500
    exit_code = 9


class _VoiceEncoder(nn.Module):
    """The network of ``resemblyzer.VoiceEncoder``, with identical parameter names."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.relu = nn.ReLU()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-8)


def weights_path() -> Path:
    """Where resemblyzer's ``pretrained.pt`` lies, without importing the package."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            "the speaker encoder is missing: install the 'resemblyzer' package"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "pretrained.pt"
        if path.is_file():
            return path
    raise EncoderUnavailable("resemblyzer is installed but its pretrained.pt is missing")


def get_encoder() -> _VoiceEncoder:
    """The voice encoder, loaded once per process (thread-safe)."""
    global _encoder
    with _lock:
        if _encoder is None:
            checkpoint = torch.load(weights_path(), map_location="cpu", weights_only=True)
            encoder = _VoiceEncoder()
            # strict=False as resemblyzer does: the checkpoint also holds a
            # training-only similarity weight/bias.
            encoder.load_state_dict(checkpoint["model_state"], strict=False)
            encoder.eval()
            _encoder = encoder
        return _encoder


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_band_edges() -> np.ndarray:
    """The 42 edge frequencies of the 40 triangular mel bands, 0 to 8 kHz."""
    return _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array(SAMPLE_RATE / 2)), N_MELS + 2))


def _mel_filters() -> np.ndarray:
    """The Slaney-normalised mel filterbank (40 x 201) of ``librosa.filters.mel``, built once.

    Written out here (the tests check it equals librosa's) because importing
    librosa costs more than a second, which the first file of every process
    would pay.
    """
    global _mel_basis
    if _mel_basis is None:
        edges = mel_band_edges()
        freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
        widths = np.diff(edges)
        ramps = edges[:, None] - freqs[None, :]
        lower = -ramps[:-2] / widths[:-1, None]
        upper = ramps[2:] / widths[1:, None]
        weights = np.maximum(0.0, np.minimum(lower, upper))
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
        _mel_basis = weights.astype(np.float32)
    return _mel_basis


def mel_spectrogram(audio: np.ndarray, band_limit: bool = False, stride: int = 1) -> np.ndarray:
    """Power mel spectrogram, (frames, 40), one frame per 10 ms, as resemblyzer computes it.

    Frame ``i`` is centred on sample ``i * 160`` (librosa's ``center=True`` with
    zero padding).  With ``band_limit`` the energy above 3.8 kHz is dropped,
    so that a speaker heard over the phone (8 kHz sampling) and people on a
    full-band microphone give comparable features; otherwise the missing high
    band alone can pull phone speech into a cluster of its own.  The diarizer
    asks for it on every region of a file that mixes the two (see
    :func:`band_cliff_db`), and not otherwise: on full-band files the high band
    helps tell voices apart (measured on the tuning voices).  ``stride`` > 1
    keeps only every stride-th frame (for quick measurements).
    """
    from scipy.fft import rfft

    wav = np.pad(np.asarray(audio, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    n_frames = len(audio) // HOP + 1
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as librosa
    basis = _mel_filters()
    if band_limit:
        basis = basis.copy()
        basis[:, int(PHONE_BAND_HZ / (SAMPLE_RATE / N_FFT)) + 1 :] = 0.0
    frames = np.lib.stride_tricks.sliding_window_view(wav, N_FFT)[::HOP][:n_frames][::stride]
    mel = np.empty((len(frames), N_MELS), dtype=np.float32)
    step = 4096  # frames per block: bounded temporary memory on long regions
    for i in range(0, len(frames), step):
        spec = rfft(frames[i : i + step] * window, axis=1)  # float32 in, complex64 out
        power = spec.real**2 + spec.imag**2
        mel[i : i + step] = power @ basis.T
    return mel


def band_cliff_db(mel: np.ndarray) -> float:
    """How many dB the energy falls from 3.0-3.7 kHz to 4.4-5.6 kHz (the phone check)."""
    below, above = _cliff_bands()
    return float(10 * np.log10((mel[:, below].sum() + 1e-12) / (mel[:, above].sum() + 1e-12)))


@functools.lru_cache(maxsize=1)
def _cliff_bands() -> tuple[slice, slice]:
    """The mel bands just below and just above the 4 kHz edge of phone audio."""
    centres = mel_band_edges()[1:-1]
    below = np.flatnonzero((centres > 3000) & (centres < 3700))
    above = np.flatnonzero((centres > 4400) & (centres < 5600))
    return slice(int(below[0]), int(below[-1]) + 1), slice(int(above[0]), int(above[-1]) + 1)


def window_gain(mel_window: np.ndarray) -> float:
    """The factor that brings a window of mel power to -30 dBFS (level normalisation).

    Applied to every window up *and* down, so a close and a far microphone
    feed the encoder at the same level.
    """
    # Mel power sums approximate |X|^2; mean over bands and frames tracks loudness.
    level = float(np.mean(mel_window)) + 1e-10
    target = 10 ** (TARGET_DBFS / 10) * N_FFT / 4  # power of a -30 dBFS signal after the filters
    return target / level


def embed_windows(pieces: list[np.ndarray], batch_size: int = 128) -> np.ndarray:
    """Embeddings (n, 256), L2-normed, of mel windows (each (frames, 40)).

    A window shorter than 160 frames is tiled (repeated) up to 160, which keeps
    the encoder's input in the distribution it was trained on, rather than
    padding with silence.  Each window is level-normalised first.  Windows run
    through the network in batches.
    """
    n = len(pieces)
    out = np.empty((n, 256), dtype=np.float32)
    if n == 0:
        return out
    encoder = get_encoder()
    with one_thread(), torch.inference_mode():
        for i in range(0, n, batch_size):
            chunk = pieces[i : i + batch_size]
            batch = np.empty((len(chunk), WINDOW_FRAMES, N_MELS), dtype=np.float32)
            for j, piece in enumerate(chunk):
                if len(piece) < WINDOW_FRAMES:
                    reps = -(-WINDOW_FRAMES // max(1, len(piece)))
                    piece = np.tile(piece, (reps, 1))[:WINDOW_FRAMES]
                batch[j] = piece[:WINDOW_FRAMES] * window_gain(piece[:WINDOW_FRAMES])
            out[i : i + len(chunk)] = encoder(torch.from_numpy(batch)).numpy()
    return out


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run resemblyzer's encoder on one intra-op thread.

    The LSTM's per-step matrices are small (batch x 256 x 1024): on a 2-core
    laptop that is also decoding and running the ASR, two torch threads spent
    more time synchronising than computing (measured: 6 ms per window on one
    thread against 15-30 ms on two).  The lock keeps concurrent callers from
    restoring each other's setting out of order.
    """
    with _thread_lock:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

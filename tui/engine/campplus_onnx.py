"""CAM++'s trunk in ONNX Runtime, exported from the loaded model into the user's cache.

On this project's CPUs ONNX Runtime runs CAM++'s trunk (its convolutions,
up to the statistics pooling) in about two thirds of the CPU time torch
takes for the same pieces, one piece at a time at its own length (no
padding, so no masking); the output agrees with the model's own forward to
about 2e-5 (``tests/diarize/test_campplus.py``).

The ONNX file is made here, never downloaded: the first use traces the
loaded model (``torch.onnx.export``, which needs the ``onnx`` package) into
the user's cache, written to a temporary name and renamed, so two processes
starting at once never read half a file.  Where that cannot be done (no
``onnx``, no ``onnxruntime``, a read-only cache, an export error), or the
trunk runs in bfloat16 (:data:`tui.engine.campplus.PRECISION`),
:func:`runner` answers None and the caller keeps torch.

Sessions use as many threads as torch is set to (the pipeline sets one
beside recognition) and never spin while waiting for work.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

#: Part of the file's name: bump it when the exported graph changes.
EXPORT_VERSION = 1

_lock = threading.Lock()
_sessions: dict[int, Any] = {}
_failed = False


class _Trunk(nn.Module):
    """CAM++ from its input features to the last layer before the statistics pooling."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net.get_submodule("head")(x)
        for name, layer in self.net.get_submodule("xvector").named_children():
            if name == "stats":
                break
            x = layer(x)
        return x


def cache_path(checkpoint: Path) -> Path:
    """Where the exported trunk of ``checkpoint`` lives (named by the weights and torch)."""
    from tui.engine.bundled_base import cache_root

    stat = checkpoint.stat()
    key = f"{checkpoint.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{torch.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root() / f"campplus-trunk-v{EXPORT_VERSION}-{digest}.onnx"


def _export(net: nn.Module, path: Path) -> None:
    import onnx  # noqa: F401 - torch's exporter needs it; fail here, before any file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        example = torch.zeros(1, 80, 200)
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                _Trunk(net).eval(),
                (example,),
                tmp,
                dynamo=False,
                input_names=["features"],
                output_names=["trunk"],
                dynamic_axes={"features": {2: "frames"}, "trunk": {2: "half_frames"}},
                opset_version=17,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def runner(net: nn.Module, checkpoint: Path) -> Callable[[np.ndarray], torch.Tensor] | None:
    """A function from one piece's log features (frames, 80) to its trunk output
    (channels, ceil(frames / 2)), or None where ONNX Runtime cannot serve (see above)."""
    global _failed
    if _failed or next(net.parameters()).dtype != torch.float32:
        return None
    threads = max(1, torch.get_num_threads())
    with _lock:
        session = _sessions.get(threads)
        if session is None:
            try:
                import warnings

                import onnxruntime as ort

                path = cache_path(checkpoint)
                if not path.exists():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        _export(net, path)
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            except Exception:  # noqa: BLE001 - any failure: torch does the work
                _failed = True
                return None
            _sessions[threads] = session

    def run(logs: np.ndarray) -> torch.Tensor:
        x = np.ascontiguousarray(logs.T[None], dtype=np.float32)
        return torch.from_numpy(session.run(None, {"features": x})[0][0])

    return run

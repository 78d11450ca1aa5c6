"""Running exported models with ONNX Runtime, as if they were the torch modules.

`OnnxModel` wraps an ONNX Runtime session in an `nn.Module` that maps N x 3 x H x W images in
[0, 1] to logits, so `predict_probabilities` and `predict_masks` run it with the same
batching, tiling, test-time augmentation and CRF as the torch engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

ENGINES = ("torch", "onnxruntime")


def session_options(threads: int | None = None):
    """ONNX Runtime settings for this CPU: every graph optimisation, intra-op threads on the
    cores this process may use, sequential execution (one model at a time)."""
    import onnxruntime as ort  # an optional extra: vocvision[onnx]

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or max(1, len(os.sched_getaffinity(0)))
    options.inter_op_num_threads = 1
    return options


class OnnxModel(nn.Module):
    """An exported model (`vocvision export`) run by ONNX Runtime on the CPU.

    Args:
        path: the `.onnx` file (input "images" N x 3 x H x W in [0, 1], output "logits").
        threads: intra-op threads (default: the cores available).

    Example::

        model = OnnxModel("runs/r1/export/segmenter.onnx")
        masks = predict_masks(model, [image], 256)      # as with the torch module
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort  # an optional extra: vocvision[onnx]

        self.path = Path(path)
        self.session = ort.InferenceSession(
            str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
        )
        # No weights live in torch; one placeholder tells the predictors the device.
        self.anchor = nn.Parameter(torch.zeros(()), requires_grad=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(images.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {"images": pixels})[0])

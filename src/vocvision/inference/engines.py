"""Running exported models with ONNX Runtime, as if they were the torch modules.

`OnnxModel` wraps an ONNX Runtime session in an `nn.Module` that maps N x 3 x H x W images in
[0, 1] to logits, so `predict_probabilities` and `predict_masks` run it with the same
batching, tiling, test-time augmentation and CRF as the torch engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

ENGINES = ("torch", "onnxruntime")


@dataclass(frozen=True)
class OrtSettings:
    """How ONNX Runtime runs a model on the CPU (`benchmarks/engines.py` compares them).

    Args:
        threads: intra-op threads (default: the cores this process may use).
        parallel: run independent graph nodes at once (ORT_PARALLEL, inter-op threads on
            the cores available) instead of one after the other.
        optimization: graph optimisations, "all" (with the CPU layout transforms),
            "extended" or "basic".
        spinning: let idle worker threads spin for the next op. Off by default: on this
            2-core CPU, spinning threads took cores from the ones at work (ORT 1.32: 1.19x
            the segmenter's images/s without it on CamVid and MSRC-v2, `benchmarks/engines.py`).
        memory_arena: keep freed activation memory in ORT's own arena for reuse (faster,
            but the arena never shrinks).
    """

    threads: int | None = None
    parallel: bool = False
    optimization: str = "all"
    spinning: bool = False
    memory_arena: bool = True

    def session_options(self):
        """These settings as an `onnxruntime.SessionOptions`."""
        import onnxruntime as ort  # an optional extra: vocvision[onnx]

        cores = max(1, len(os.sched_getaffinity(0)))
        options = ort.SessionOptions()
        options.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        }[self.optimization]
        options.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL if self.parallel else ort.ExecutionMode.ORT_SEQUENTIAL
        )
        options.intra_op_num_threads = self.threads or cores
        options.inter_op_num_threads = cores if self.parallel else 1
        options.enable_cpu_mem_arena = self.memory_arena
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self.spinning else "0"
        )
        return options


class OnnxModel(nn.Module):
    """An exported model (`vocvision export`) run by ONNX Runtime on the CPU.

    Args:
        path: the `.onnx` file (input "images" N x 3 x H x W in [0, 1], output "logits").
        settings: how ONNX Runtime runs it (default: every graph optimisation, intra-op
            threads on the cores available, sequential execution).

    Example::

        model = OnnxModel("runs/r1/export/segmenter.onnx")
        masks = predict_masks(model, [image], 256)      # as with the torch module
    """

    def __init__(self, path: str | Path, settings: OrtSettings = OrtSettings()) -> None:
        super().__init__()
        import onnxruntime as ort  # an optional extra: vocvision[onnx]

        self.path = Path(path)
        self.session = ort.InferenceSession(
            str(self.path), settings.session_options(), providers=["CPUExecutionProvider"]
        )
        # No weights live in torch; one placeholder tells the predictors the device.
        self.anchor = nn.Parameter(torch.zeros(()), requires_grad=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(images.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {"images": pixels})[0])

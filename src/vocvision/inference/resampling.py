"""From a model's low-resolution class scores to a full-size label mask."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..data.sample import IGNORE_INDEX


def argmax_at(
    log_probs: torch.Tensor,
    shape: tuple[int, int],
    min_confidence: float = 0.0,
    band_pixels: int = 2**22,
) -> np.ndarray:
    """H x W uint8 argmax of C x h x w log-probabilities resampled bilinearly to `shape` (as
    F.interpolate with align_corners=False), in bands of rows so that a 4000 x 3000 image
    never holds all C channels at full size. Pixels whose best class has a probability
    below `min_confidence` get IGNORE_INDEX."""
    height, width = shape
    channels = log_probs.shape[0]
    floor = math.log(min_confidence) if min_confidence > 0 else None
    rows = max(1, band_pixels // (width * channels))
    if rows >= height:  # one band: interpolate is several times faster than grid_sample
        resized = F.interpolate(log_probs[None], size=shape, mode="bilinear", align_corners=False)
        return _channel_argmax(resized[0], floor)
    xs = (torch.arange(width, device=log_probs.device) + 0.5) / width * 2 - 1
    mask = np.empty((height, width), dtype=np.uint8)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        ys = (torch.arange(top, bottom, device=log_probs.device) + 0.5) / height * 2 - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)[None]
        band = F.grid_sample(
            log_probs[None], grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        mask[top:bottom] = _channel_argmax(band[0], floor)
    return mask


def _channel_argmax(scores: torch.Tensor, floor: float | None) -> np.ndarray:
    # max(0) over the channels of a C x H x W tensor ran 4x faster than argmax(0) on this
    # CPU (6 vs 24 ms at 12 x 360 x 480), a third of the whole mask's cost.
    best = scores.max(0)
    labels = best.indices.to(torch.uint8)
    if floor is not None:
        labels[best.values < floor] = IGNORE_INDEX
    return labels.cpu().numpy()

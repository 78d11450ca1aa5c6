"""Prediction on CPU or GPU: batched, without gradients, channels_last, bf16 on CPU.

Images are resized to the model's square training size; segmentation logits are resized back
to each image's own resolution before the argmax, so masks match the input pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device, fast: bool):
    # bf16 autocast roughly halves CPU inference time (measured in benchmarks/); GPUs use it too.
    return torch.autocast(device.type, dtype=torch.bfloat16) if fast else nullcontext()


def _batches(
    images: Sequence[np.ndarray], size: int, batch_size: int, device: torch.device
) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch_size):
        batch = [
            torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
            for img in images[start : start + batch_size]
        ]
        resized = torch.cat(
            [
                F.interpolate(
                    x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
                )
                for x in batch
            ]
        )
        yield resized.to(device).contiguous(memory_format=torch.channels_last)


def _logits(model: nn.Module, batch: torch.Tensor, fast: bool, flip: bool) -> torch.Tensor:
    """Model logits, averaged with those of the mirrored batch when `flip` (test-time
    augmentation); spatial outputs are mirrored back before averaging."""
    with _autocast(batch.device, fast):
        logits = model(batch).float()
        if flip:
            mirrored = model(batch.flip(-1)).float()
            logits = (logits + (mirrored.flip(-1) if logits.ndim == 4 else mirrored)) / 2
    return logits


@torch.inference_mode()
def predict_probabilities(
    model: nn.Module,
    images: Sequence[np.ndarray],
    size: int,
    batch_size: int = 32,
    fast: bool = True,
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
) -> np.ndarray:
    """N x K sigmoid probabilities of a multi-label classifier. Test-time augmentation:
    `flip` adds the mirrored image, `scales` resizes to size * scale (rounded to a multiple
    of 8) for each scale; the probabilities of all variants are averaged."""
    model = model.eval().to(memory_format=torch.channels_last)
    device = _device_of(model)
    variants = []
    for scale in scales:
        scaled = max(8, round(size * scale / 8) * 8)
        out = []
        for batch in _batches(images, scaled, batch_size, device):
            views = (batch, batch.flip(-1)) if flip else (batch,)
            probs = [_logits(model, view, fast, flip=False).sigmoid() for view in views]
            out.append(torch.stack(probs).mean(0).cpu())
        variants.append(torch.cat(out))
    return torch.stack(variants).mean(0).numpy()


@torch.inference_mode()
def predict_masks(
    model: nn.Module,
    images: Sequence[np.ndarray],
    size: int,
    batch_size: int = 8,
    fast: bool = True,
    allowed: np.ndarray | None = None,
    flip: bool = False,
) -> list[np.ndarray]:
    """One H x W uint8 mask per image at its original resolution (0 = background).

    `flip` averages the logits with those of the mirrored image (test-time augmentation).

    `allowed` (N x K booleans) restricts each image's pixels to background and the classes
    marked allowed, e.g. those the classifier predicts present.
    """
    model = model.eval().to(memory_format=torch.channels_last)
    device = _device_of(model)
    masks = []
    for start, batch in zip(
        range(0, len(images), batch_size), _batches(images, size, batch_size, device), strict=True
    ):
        logits = _logits(model, batch, fast, flip)
        if allowed is not None:
            keep = torch.from_numpy(allowed[start : start + len(logits)].astype(bool))
            keep = torch.cat([torch.ones(len(keep), 1, dtype=torch.bool), keep], 1)  # background
            # A finite fill: -inf times a zero interpolation weight would give NaN.
            logits = logits.masked_fill(~keep.to(logits.device)[:, :, None, None], -1e4)
        for img, logit in zip(images[start : start + batch_size], logits, strict=True):
            full = F.interpolate(
                logit[None], size=img.shape[:2], mode="bilinear", align_corners=False
            )
            masks.append(full[0].argmax(0).to(torch.uint8).cpu().numpy())
    return masks

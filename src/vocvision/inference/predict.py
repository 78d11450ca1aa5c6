"""Prediction on CPU or GPU: batched, without gradients, channels_last, bf16 on CPU.

Classifier inputs are resized to the model's square training size; segmenter inputs keep
their aspect ratio by default. Segmentation logits are resized back to each image's own
resolution before the argmax, so masks match the input pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .crf import crf_log_probabilities
from .resampling import argmax_at


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device, fast: bool):
    # bf16 autocast roughly halves CPU inference time (measured in benchmarks/); GPUs use it too.
    return torch.autocast(device.type, dtype=torch.bfloat16) if fast else nullcontext()


def _batches(
    images: Sequence[np.ndarray], size: int, batch_size: int, device: torch.device
) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        resized = torch.cat([_resized_pixels(img, (size, size)) for img in chunk])
        yield resized.to(device).contiguous(memory_format=torch.channels_last)


def _compiled(model: nn.Module) -> nn.Module:
    """`model` through `torch.compile` with one static graph per input shape. Test-time scales
    give each split several shapes; PyTorch's default then recompiles for dynamic shapes,
    which on a 2-core CPU did not finish 64 CamVid images with flip + 3 scales in 25 minutes,
    where static graphs took 149 s cold and then ran 1.3-2.3x the eager speed (README)."""
    return torch.compile(model, dynamic=False)


def _filled_up(images: Sequence[np.ndarray], multiple: int) -> list[np.ndarray]:
    """`images` with the last repeated up to a multiple of `multiple`: a compiled model
    recompiles for every new batch shape, so its last batch must be as full as the others."""
    return [*images, *images[-1:] * (-len(images) % multiple)]


def _logits(model: nn.Module, batch: torch.Tensor, fast: bool) -> torch.Tensor:
    with _autocast(batch.device, fast):
        return model(batch).float()


def _prepared(model: nn.Module) -> nn.Module:
    """`model` in eval mode with channels_last weights. Converted outside inference mode (the
    predictors run in it), so the weights stay usable for autograd (attacks, fine-tuning)."""
    with torch.inference_mode(False), torch.no_grad():
        return model.eval().to(memory_format=torch.channels_last)


@torch.inference_mode()
def predict_probabilities(
    model: nn.Module,
    images: Sequence[np.ndarray],
    size: int,
    batch_size: int = 32,
    fast: bool = True,
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
    compile_model: bool = False,
) -> np.ndarray:
    """N x K sigmoid probabilities of a multi-label classifier. Test-time augmentation:
    `flip` adds the mirrored image, `scales` resizes to size * scale (rounded to a multiple
    of 8) for each scale; the probabilities of all variants are averaged. `compile_model`:
    as in `predict_masks`."""
    model = _prepared(model)
    device = _device_of(model)
    forward = _compiled(model) if compile_model else model
    count = len(images)
    if compile_model:
        images = _filled_up(images, batch_size)
    variants = []
    for scale in scales:
        scaled = max(8, round(size * scale / 8) * 8)
        out = []
        for batch in _batches(images, scaled, batch_size, device):
            views = (batch, batch.flip(-1)) if flip else (batch,)
            probs = [_logits(forward, view, fast).sigmoid() for view in views]
            out.append(torch.stack(probs).mean(0).cpu())
        variants.append(torch.cat(out)[:count])
    return torch.stack(variants).mean(0).numpy()


@torch.inference_mode()
def predict_masks(
    model: nn.Module,
    images: Sequence[np.ndarray],
    size: int,
    *,
    batch_size: int = 8,
    fast: bool = True,
    allowed: np.ndarray | None = None,
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
    square: bool = False,
    tile: int = 512,
    compile_model: bool = False,
    crf: bool = False,
    min_confidence: float = 0.0,
) -> list[np.ndarray]:
    """One H x W uint8 mask per image at its original resolution (0 = background).

    Each image is resized so that its shorter side is `size`, keeping its aspect ratio, or,
    with `square`, to `size` x `size` (as the whole images seen in training, squashed). Keeping
    the aspect ratio scored higher on every dev set (README, Benchmarks); consecutive images
    of one shape then share a batch. Test-time augmentation averages the per-pixel
    log-probabilities of the mirrored image (`flip`) and of `scales` x that size; inputs
    larger than `tile` on a side go in windows of at most `tile` squared overlapping by a
    quarter, so memory is bounded by the tile. The result is resampled to the original size
    in bands of rows and argmaxed.

    `allowed` (N x K booleans) restricts each image's pixels to background and the classes
    marked allowed, e.g. those the classifier predicts present. `crf` refines the averaged
    log-probabilities with a dense CRF on the image at the same size (`crf.py`) before the
    resampling to full size, so its cost does not grow with the image.

    `compile_model` runs the model through `torch.compile`: about twice the forward speed in
    bf16 on a CPU, after a one-off compilation (minutes the first time, seconds once cached),
    so it pays on large splits. Every input shape (image size x scale, batch size) compiles
    its own graph, so mixed image sizes erase the gain. All but the first three are keywords.
    """
    model = _prepared(model)
    device, forward = _device_of(model), _compiled(model) if compile_model else model
    masks, start = [], 0
    while start < len(images):
        base = (size, size) if square else _short_side(*images[start].shape[:2], size)
        # Tiled inputs go one at a time (padding included), so memory stays one tile's worth.
        step = 1 if max(base) > tile else batch_size
        chunk = images[start : start + step] if square else _same_shape_run(images, start, step)
        # Pad only the last batch: one cut short by a new shape meets a new graph anyway.
        last = start + len(chunk) == len(images)
        filled = _filled_up(chunk, step) if compile_model and last else chunk
        log_probs = _scaled_log_probabilities(
            forward, filled, base, scales, tile, fast, flip, device
        )[: len(chunk)]
        if allowed is not None:
            log_probs = _restricted(log_probs, allowed[start : start + len(chunk)])
        if crf:
            pairs = zip(chunk, log_probs, strict=True)
            log_probs = [crf_log_probabilities(_resized(img, base), lp) for img, lp in pairs]
        for img, lp in zip(chunk, log_probs, strict=True):
            masks.append(argmax_at(lp, img.shape[:2], min_confidence))
        start += len(chunk)
    return masks


def _restricted(log_probs: torch.Tensor, allowed: np.ndarray) -> torch.Tensor:
    """`log_probs` with every class outside `allowed` (N x K; background always allowed)
    pushed far down. A finite fill: -inf times a zero interpolation weight would give NaN."""
    keep = torch.from_numpy(allowed.astype(bool))
    keep = torch.cat([torch.ones(len(keep), 1, dtype=torch.bool), keep], 1)
    return log_probs.masked_fill(~keep.to(log_probs.device)[:, :, None, None], -1e4)


def _same_shape_run(images: Sequence[np.ndarray], start: int, limit: int) -> Sequence[np.ndarray]:
    """The images from `start` on that share the first one's height and width, at most
    `limit`: one batch of the model, whichever way they are resized."""
    end = start + 1
    while end < min(len(images), start + limit) and (
        images[end].shape[:2] == images[start].shape[:2]
    ):
        end += 1
    return images[start:end]


def _resized_pixels(
    image: np.ndarray, shape: tuple[int, int], divisor: float = 255.0
) -> torch.Tensor:
    """1 x 3 x `shape` float tensor of an H x W x 3 uint8 `image` divided by `divisor` (255:
    the models' 0-1 inputs) and resized bilinearly with antialiasing."""
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float() / divisor
    return F.interpolate(pixels, size=shape, mode="bilinear", antialias=True, align_corners=False)


def _resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """H x W x 3 uint8 `image` resized to `shape` as the model inputs are."""
    if image.shape[:2] == shape:
        return image
    pixels = _resized_pixels(image, shape, divisor=1.0)
    return pixels[0].round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _short_side(height: int, width: int, side: int) -> tuple[int, int]:
    scale = side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _scaled_log_probabilities(
    model: nn.Module,
    images: Sequence[np.ndarray],
    base: tuple[int, int],
    scales: Sequence[float],
    tile: int,
    fast: bool,
    flip: bool,
    device: torch.device,
) -> torch.Tensor:
    """N x C x base log-probabilities averaged over `scales` (each predicted at
    scale x base, then resampled to base)."""
    total = None
    for scale in scales:
        shape = (max(8, round(base[0] * scale)), max(8, round(base[1] * scale)))
        batch = torch.cat([_resized_pixels(img, shape) for img in images]).to(device)
        log_probs = _tiled_log_probabilities(model, batch, tile, fast, flip)
        if shape != base:
            log_probs = F.interpolate(log_probs, size=base, mode="bilinear", align_corners=False)
        total = log_probs if total is None else total + log_probs
    return total / len(scales)


def _tiled_log_probabilities(
    model: nn.Module, batch: torch.Tensor, tile: int, fast: bool, flip: bool
) -> torch.Tensor:
    """Per-pixel log-probabilities of `batch`, window by window when it exceeds `tile`;
    overlapping windows are averaged."""
    height, width = batch.shape[-2:]
    if height <= tile and width <= tile:
        return _padded_log_probabilities(model, batch, fast, flip)
    total = counts = None
    for top in _window_starts(height, tile):
        for left in _window_starts(width, tile):
            window = (..., slice(top, top + tile), slice(left, left + tile))
            log_probs = _padded_log_probabilities(model, batch[window], fast, flip)
            if total is None:
                total = batch.new_zeros((len(batch), log_probs.shape[1], height, width))
                counts = batch.new_zeros((1, 1, height, width))
            total[window] += log_probs
            counts[window] += 1
    return total / counts


def _window_starts(length: int, tile: int) -> list[int]:
    """Window offsets covering `length` with windows of `tile` overlapping by a quarter."""
    if length <= tile:
        return [0]
    stride = max(1, tile * 3 // 4)
    return [*range(0, length - tile, stride), length - tile]


def _padded_log_probabilities(
    model: nn.Module, batch: torch.Tensor, fast: bool, flip: bool
) -> torch.Tensor:
    """Log-softmax of the model on `batch` padded (edge pixels repeated) to multiples of 32,
    cropped back; averaged with the mirrored batch's when `flip`."""
    height, width = batch.shape[-2:]
    pad = (0, -width % 32, 0, -height % 32)
    padded = F.pad(batch, pad, mode="replicate") if any(pad) else batch
    padded = padded.contiguous(memory_format=torch.channels_last)
    views = (padded, padded.flip(-1)) if flip else (padded,)
    total = None
    with _autocast(padded.device, fast):
        for i, view in enumerate(views):
            log_probs = model(view).float().log_softmax(1)
            log_probs = log_probs.flip(-1) if i else log_probs
            total = log_probs if total is None else total + log_probs
    return (total / len(views))[..., :height, :width]

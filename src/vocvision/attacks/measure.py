"""Putting image sets into a model's pixel space and scoring attacks there.

Attacks work on the images the model sees (resized to its input size and on the 8-bit grid),
so every number here is measured at that size, on exactly the pixels a saved PNG would hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ..data.sample import IGNORE_INDEX, ImageSet
from ..inference.thresholds import apply_thresholds
from ..metrics import confusion_matrix, dice_per_image, iou_per_class
from .base import Attack


def model_images(images: ImageSet, size: int) -> torch.Tensor:
    """N x 3 x size x size images in [0, 1] on the 8-bit grid (antialiased resize)."""
    resized = [
        F.interpolate(
            torch.from_numpy(s.image).permute(2, 0, 1)[None].float() / 255,
            size=(size, size),
            mode="bilinear",
            antialias=True,
        )
        for s in images.samples
    ]
    return (torch.cat(resized) * 255).round().clamp(0, 255) / 255


def model_masks(images: ImageSet, size: int) -> torch.Tensor:
    """N x size x size class-index masks (nearest resize, ignore pixels kept)."""
    masks = [
        F.interpolate(torch.from_numpy(s.mask)[None, None].float(), (size, size), mode="nearest")
        for s in images.samples
    ]
    return torch.cat(masks)[:, 0].long()


def run_attack(
    attack: Attack, images: torch.Tensor, targets: torch.Tensor, batch_size: int = 16
) -> torch.Tensor:
    """`attack` over `images` in batches (bounded memory on large sets)."""
    return torch.cat(
        [
            attack(x, y)
            for x, y in zip(images.split(batch_size), targets.split(batch_size), strict=True)
        ]
    )


@torch.no_grad()
def outputs(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """The model's logits in eval mode, in batches."""
    was_training = model.training
    model.eval()
    logits = torch.cat([model(x) for x in images.split(batch_size)])
    model.train(was_training)
    return logits


def predicted_labels(
    logits: torch.Tensor, threshold: float | Sequence[float] = 0.5, at_least_one: bool = True
) -> np.ndarray:
    """N x K labels of a multi-label classifier's logits under its labelling rule."""
    return apply_thresholds(logits.sigmoid().numpy(), np.asarray(threshold), at_least_one)


def label_scores(labels: np.ndarray, truth: np.ndarray) -> dict:
    """Mean per-image Dice (the Kaggle classification half) of N x K labels."""
    return {"dice": float(dice_per_image(labels, truth).mean())}


def mask_scores(predicted: np.ndarray, masks: np.ndarray, num_labels: int) -> dict:
    """mIoU over the labels present in truth or prediction, and pixel accuracy."""
    confusion = confusion_matrix(predicted, masks, num_labels)
    valid = masks != IGNORE_INDEX
    return {
        "mIoU": float(np.nanmean(iou_per_class(confusion))),
        "pixel_accuracy": float((predicted == masks)[valid].mean()),
    }


def exact_match_rate(labels: np.ndarray, targets: np.ndarray) -> float:
    """Targeted success of a multi-label attack: images whose label set is exactly the target."""
    return float((labels.astype(bool) == targets.astype(bool)).all(1).mean())


def pixel_success_rate(predicted: np.ndarray, targets: np.ndarray) -> float:
    """Targeted success of a segmentation attack: share of the target mask's pixels (ignore
    pixels excluded) that take the attacker's class."""
    valid = targets != IGNORE_INDEX
    return float((predicted == targets)[valid].mean())


def fooling_rate(clean: np.ndarray, adversarial: np.ndarray) -> float:
    """Share of images whose prediction changed: the label set (N x K) or, for masks
    (N x H x W), the majority of pixels."""
    changed = (clean != adversarial).reshape(len(clean), -1)
    if clean.ndim == 2:
        return float(changed.any(1).mean())
    return float((changed.mean(1) > 0.5).mean())


def perturbation_stats(adversarial: torch.Tensor, images: torch.Tensor) -> dict:
    """Median L-inf (in 1/255 steps) and L2 norms, PSNR (dB) and SSIM over the images."""
    delta = (adversarial - images).flatten(1)
    psnr = peak_signal_noise_ratio(
        adversarial, images, data_range=1.0, reduction="none", dim=(1, 2, 3)
    )
    ssim = structural_similarity_index_measure(
        adversarial, images, data_range=1.0, reduction="none"
    )
    return {
        "linf_255": float(delta.abs().amax(1).median() * 255),
        "l2": float(delta.norm(dim=1).median()),
        "psnr": float(psnr.clamp(max=100).median()),
        "ssim": float(ssim.median()),
    }

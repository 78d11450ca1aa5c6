"""Putting image sets into a model's pixel space, running attacks there, and measuring the
perturbations.

Attacks work on the images the model sees (resized to its input size and on the 8-bit grid),
so every number is measured at that size, on exactly the pixels a saved PNG would hold. What
counts as a correct or fooled prediction is the task's (see `vocvision.tasks`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ..data.sample import ImageSet
from .attack import Attack


def model_image(pixels: np.ndarray, size: int) -> torch.Tensor:
    """1 x 3 x size x size: an H x W x 3 uint8 image in [0, 1] on the 8-bit grid
    (antialiased resize), the input the attacks perturb."""
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x * 255).round().clamp(0, 255) / 255


def model_images(images: ImageSet, size: int) -> torch.Tensor:
    """N x 3 x size x size images in [0, 1] on the 8-bit grid (antialiased resize)."""
    return torch.cat([model_image(s.image, size) for s in images.samples])


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

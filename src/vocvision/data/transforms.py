"""Joint image/mask augmentation with torchvision.transforms.v2 (masks resize with nearest)."""

from __future__ import annotations

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from .sample import IGNORE_INDEX, Sample

AUGMENTATIONS = ("basic", "randaugment")


def train_transform(
    size: int, min_crop_scale: float = 0.35, augment: str = "basic"
) -> v2.Transform:
    """Random crop of at least `min_crop_scale` of the image area, resized to size x size,
    horizontal flip, colour jitter; `augment="randaugment"` adds two RandAugment operations
    (image-level labels only: its shears and rotations are meant for classifiers)."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation '{augment}'; choose from {AUGMENTATIONS}")
    extra = [v2.RandAugment(num_ops=2, magnitude=9)] if augment == "randaugment" else []
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(min_crop_scale, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            *extra,
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
            v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
        ]
    )


def eval_transform(size: int) -> v2.Transform:
    """Resize to size x size (the aspect ratio is restored at prediction time)."""
    return v2.Compose(
        [
            v2.Resize((size, size), antialias=True),
            v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
        ]
    )


def to_tensors(sample: Sample, transform: v2.Transform) -> dict[str, torch.Tensor]:
    """Apply `transform` to a sample: image float [0, 1] 3xHxW, mask long HxW, labels float K."""
    image = tv_tensors.Image(torch.from_numpy(sample.image).permute(2, 0, 1))
    mask_array = (
        sample.mask
        if sample.mask is not None
        else np.full(sample.image.shape[:2], IGNORE_INDEX, np.uint8)
    )
    mask = tv_tensors.Mask(torch.from_numpy(mask_array.astype(np.int64)))
    image, mask = transform(image, mask)
    labels = (
        torch.from_numpy(sample.labels.astype(np.float32))
        if sample.labels is not None
        else torch.zeros(0)
    )
    return {
        "image": image.as_subclass(torch.Tensor),
        "mask": mask.as_subclass(torch.Tensor),
        "labels": labels,
    }

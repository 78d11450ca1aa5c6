"""Joint image/mask augmentation with torchvision.transforms.v2 (masks resize with nearest)."""

from __future__ import annotations

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..config import AUGMENTATIONS
from .sample import IGNORE_INDEX, Sample


class RandomGamma(v2.Transform):
    """Gamma correction with a random gamma in `gamma_range` (images only; masks untouched)."""

    def __init__(self, gamma_range: tuple[float, float] = (0.7, 1.5), p: float = 0.5) -> None:
        super().__init__()
        self.gamma_range, self.p = gamma_range, p

    def make_params(self, flat_inputs: list) -> dict:
        low, high = self.gamma_range
        apply = torch.rand(()) < self.p
        return {"gamma": float(torch.empty(()).uniform_(low, high)) if apply else 1.0}

    def transform(self, inpt, params: dict):
        if params["gamma"] == 1.0 or not isinstance(inpt, tv_tensors.Image):
            return inpt
        return v2.functional.adjust_gamma(inpt, params["gamma"])


def train_transform(
    size: int,
    min_crop_scale: float = 0.35,
    augment: str = "basic",
    max_crop_scale: float = 1.0,
) -> v2.Transform:
    """Random crop of `min_crop_scale` to `max_crop_scale` of the image area, resized to
    size x size, horizontal flip, colour jitter. `augment="strong"` adds rotation/shear
    (uncovered mask pixels become ignore), random gamma and Gaussian noise;
    `augment="randaugment"` adds two RandAugment operations (image-level labels only: it
    moves image pixels without the mask). Masks are resampled with nearest neighbours."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation '{augment}'; choose from {AUGMENTATIONS}")
    geometric, photometric, noise = [], [], []
    if augment == "randaugment":
        geometric = [v2.RandAugment(num_ops=2, magnitude=9)]
    if augment == "strong":
        fill = {tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX}
        geometric = [v2.RandomApply([v2.RandomAffine(degrees=10, shear=8, fill=fill)], p=0.5)]
        photometric = [RandomGamma()]
        noise = [v2.RandomApply([v2.GaussianNoise(sigma=0.03)], p=0.3)]
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(min_crop_scale, max_crop_scale), antialias=True),
            v2.RandomHorizontalFlip(),
            *geometric,
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
            *photometric,
            v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
            *noise,
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

"""Input-transform defences: JPEG re-compression and Gaussian blur in front of a model.

Both wash out small high-frequency perturbations, which makes attacks crafted on the bare
model fail (the "non-adaptive" number). That is largely gradient masking: an attacker who
knows the defence attacks the defended model, differentiating through the blur, and through
JPEG (not differentiable) with the straight-through estimator (BPDA, Athalye et al. 2018:
forward pass through JPEG, backward pass as identity). Report both numbers.
"""

from __future__ import annotations

import torch
import torchvision.transforms.v2.functional as TF
from torch import nn


class JPEG(nn.Module):
    """JPEG encode + decode at `quality`, with an identity gradient (BPDA)."""

    def __init__(self, quality: int = 75) -> None:
        super().__init__()
        self.quality = quality

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = (images.detach() * 255).round().clamp(0, 255).to(torch.uint8).cpu()
        compressed = TF.jpeg(pixels, self.quality).to(images.device, images.dtype) / 255
        return images + (compressed - images).detach()


class GaussianBlur(nn.Module):
    """Gaussian blur with standard deviation `sigma` pixels (differentiable)."""

    def __init__(self, sigma: float = 1.0) -> None:
        super().__init__()
        self.sigma = sigma
        self.kernel_size = 2 * round(3 * sigma) + 1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return TF.gaussian_blur(images, [self.kernel_size] * 2, [self.sigma] * 2)


def defended(model: nn.Module, transform: nn.Module) -> nn.Sequential:
    """`model` behind an input transform: attack this to attack the defence adaptively."""
    return nn.Sequential(transform, model)

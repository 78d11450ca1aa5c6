"""A small CNN trained from scratch: the baseline that shows what ImageNet pretraining buys.

Registered with timm as `vocvision_scratch_cnn`, so `Classifier(backbone="vocvision_scratch_cnn",
pretrained="none")` builds it like any other backbone. Choices, for a few hundred images on CPU:
a stride-2 stem (full-resolution convolutions cost most and see least), then four stages of
two 3x3 conv + batch-norm + ReLU (VGG-style, the simplest thing that learns), channels doubling
from 32 to 256 (~1.2 M parameters: little to overfit), stride-2 max-pooling between stages,
and global average pooling so any input size works.
"""

from __future__ import annotations

import torch
from timm.models import register_model
from torch import nn


def _stage(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ScratchCNN(nn.Module):
    """VGG-style CNN with the timm backbone interface: `forward_features` (N x C x h x w),
    `forward` (pooled N x C features when num_classes=0, else logits), `num_features`."""

    def __init__(self, num_classes: int = 0, widths: tuple[int, ...] = (32, 64, 128, 256)):
        super().__init__()
        stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        layers, channels = [stem], widths[0]
        for i, width in enumerate(widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers.append(_stage(channels, width))
            channels = width
        self.features = nn.Sequential(*layers)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes) if num_classes else nn.Identity()
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(images).mean((2, 3)))


@register_model
def vocvision_scratch_cnn(pretrained: bool = False, num_classes: int = 0, **kwargs) -> ScratchCNN:
    """timm entry point; there are no pretrained weights, by design."""
    if pretrained:
        raise ValueError("vocvision_scratch_cnn is trained from scratch: it has no weights")
    return ScratchCNN(num_classes=num_classes)

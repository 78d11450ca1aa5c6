"""Semantic segmenter: a segmentation-models-pytorch decoder over a timm encoder."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn

from .classifier import normalize_for
from .pretrained import load_backbone_weights, load_imagenet_state

ARCHITECTURES = {"unet": smp.Unet, "fpn": smp.FPN, "deeplabv3plus": smp.DeepLabV3Plus}
# A lighter U-Net decoder than smp's default (256..16) to keep CPU training steps cheap.
UNET_DECODER_CHANNELS = (128, 64, 48, 32, 16)


class Segmenter(nn.Module):
    """`forward(images in [0, 1], N x 3 x H x W) -> N x (K + 1) x H x W` logits, channel 0 =
    background. H and W must be multiples of 32."""

    def __init__(
        self,
        num_classes: int,
        encoder: str = "tf_efficientnet_lite0",
        pretrained: str = "package",
        arch: str = "fpn",
    ) -> None:
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture '{arch}'; choose from {list(ARCHITECTURES)}")
        self.normalize = normalize_for(encoder)
        extra = {"decoder_channels": UNET_DECODER_CHANNELS} if arch == "unet" else {}
        self.net = ARCHITECTURES[arch](
            encoder_name=f"tu-{encoder}", encoder_weights=None, classes=num_classes + 1, **extra
        )
        state = load_imagenet_state(encoder, pretrained)
        if state is not None:
            load_backbone_weights(self.net.encoder.model, state)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(images))

"""Semantic segmenter: a segmentation-models-pytorch decoder over a timm encoder."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn

from ..data.sample import is_binary
from .classifier import normalize_for
from .hub import SavesPretrained
from .pretrained import load_backbone_weights, load_imagenet_state

ARCHITECTURES = {"unet": smp.Unet, "fpn": smp.FPN, "deeplabv3plus": smp.DeepLabV3Plus}
# A lighter U-Net decoder than smp's default (256..16) to keep CPU training steps cheap.
UNET_DECODER_CHANNELS = (128, 64, 48, 32, 16)
# The logit of a class the data never has (background of CamVid-like sets): finite, so that
# softmax, interpolation and losses stay free of NaN, and far below any real logit.
ABSENT_LOGIT = -1e4


def decoder_options(arch: str, width: int | None) -> dict:
    """smp keyword arguments for the decoder's width: None keeps smp's FPN and DeepLabV3+
    decoders (256 channels) and our lighter U-Net's; a width scales them (FPN: `width` pyramid
    and `width / 2` segmentation channels; U-Net: `width` at the top, halving downwards)."""
    if arch == "unet":
        if width is None:
            return {"decoder_channels": UNET_DECODER_CHANNELS}
        return {"decoder_channels": tuple(max(8, width >> k) for k in range(5))}
    if width is None:
        return {}
    if arch == "fpn":
        return {"decoder_pyramid_channels": width, "decoder_segmentation_channels": width // 2}
    return {"decoder_channels": width}


class Segmenter(SavesPretrained, nn.Module):
    """`forward(images in [0, 1], N x 3 x H x W) -> N x (K + 1) x H x W` logits, channel 0 =
    background. H and W must be multiples of 32.

    Every consumer (losses, argmax, attacks) sees the same K + 1 channels whatever the data:
    - with a background class and K > 1: one logit per channel;
    - binary sets (background + one class, e.g. horse, buildings): the network has one
      logit z and returns [0, z], so softmax gives [1 - sigmoid(z), sigmoid(z)] and
      cross-entropy equals binary cross-entropy on z;
    - sets without background (`background=False`, e.g. CamVid): K logits, channel 0 fixed
      at ABSENT_LOGIT so background is never predicted.

    Args:
        num_classes: K, the classes besides background.
        encoder: a timm model name (smp's `tu-` encoders).
        pretrained: ImageNet weights for the encoder (see `load_imagenet_state`).
        arch: the decoder: fpn | unet | deeplabv3plus.
        background: whether the data has a background class (see above).
        decoder_width: decoder channels (see `decoder_options`); None: the defaults.

    Example::

        model = Segmenter(21, arch="fpn")
        logits = model(torch.rand(1, 3, 256, 320))  # 1 x 22 x 256 x 320
    """

    def __init__(
        self,
        num_classes: int,
        encoder: str = "tf_efficientnet_lite0",
        pretrained: str = "package",
        arch: str = "fpn",
        background: bool = True,
        decoder_width: int | None = None,
    ) -> None:
        super().__init__()
        self.init_args = {
            "num_classes": num_classes,
            "encoder": encoder,
            "arch": arch,
            "background": background,
            "decoder_width": decoder_width,
        }
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture '{arch}'; choose from {list(ARCHITECTURES)}")
        self.binary = is_binary(num_classes, background)
        # The channel 0 the network does not produce: 0 beside a binary set's one logit,
        # ABSENT_LOGIT for a set without background, none otherwise.
        self.fixed_channel = None
        if self.binary:
            self.fixed_channel = 0.0
        elif not background:
            self.fixed_channel = ABSENT_LOGIT
        outputs = num_classes + 1 if self.fixed_channel is None else num_classes
        self.normalize = normalize_for(encoder)
        extra = decoder_options(arch, decoder_width)
        self.net = ARCHITECTURES[arch](
            encoder_name=f"tu-{encoder}", encoder_weights=None, classes=outputs, **extra
        )
        state = load_imagenet_state(encoder, pretrained)
        if state is not None:
            load_backbone_weights(self.net.encoder.model, state)

    @property
    def encoder(self) -> nn.Module:
        """The pretrained part (trained at a lower learning rate)."""
        return self.net.encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.net(self.normalize(images))
        if self.fixed_channel is None:
            return logits
        fixed = torch.full_like(logits[:, :1], self.fixed_channel)
        return torch.cat([fixed, logits], 1)

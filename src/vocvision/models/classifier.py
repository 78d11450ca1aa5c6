"""Multi-label classifier: a timm backbone and a linear head, one logit per class."""

from __future__ import annotations

import timm
import torch
from torch import nn

from .hub import SavesPretrained
from .pretrained import load_backbone_weights, load_imagenet_state


class Normalize(nn.Module):
    """Maps images in [0, 1] to the backbone's input statistics, so callers (and attacks)
    work in pixel space and never need to know them."""

    def __init__(self, mean, std) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


def normalize_for(model_name: str) -> Normalize:
    cfg = timm.get_pretrained_cfg(model_name)
    mean, std = (cfg.mean, cfg.std) if cfg else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return Normalize(mean, std)


def create_backbone(name: str, pretrained: str) -> nn.Module:
    """A timm backbone without classifier (`forward` gives pooled features), with ImageNet
    weights from `pretrained` (package | hub | none | path, see `load_imagenet_state`)."""
    backbone = timm.create_model(name, pretrained=False, num_classes=0)
    state = load_imagenet_state(name, pretrained)
    if state is not None:
        load_backbone_weights(backbone, state)
    return backbone


class Classifier(SavesPretrained, nn.Module):
    """`forward(images in [0, 1], N x 3 x H x W) -> N x K logits`.

    Args:
        num_classes: K, one logit per class (multi-label: a sigmoid each).
        backbone: a timm model name; `vocvision_scratch_cnn` is the from-scratch baseline.
        pretrained: ImageNet weights for the backbone: package | hub | none | a file path
            (see `load_imagenet_state`).
        drop_rate: dropout before the linear head.

    Example::

        model = Classifier(20)                      # Lite0, offline ImageNet weights
        logits = model(torch.rand(2, 3, 320, 320))  # 2 x 20
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "tf_efficientnet_lite0",
        pretrained: str = "package",
        drop_rate: float = 0.2,
    ) -> None:
        super().__init__()
        self.init_args = {"num_classes": num_classes, "backbone": backbone, "drop_rate": drop_rate}
        self.normalize = normalize_for(backbone)
        self.backbone = create_backbone(backbone, pretrained)
        self.head = nn.Sequential(
            nn.Dropout(drop_rate), nn.Linear(self.backbone.num_features, num_classes)
        )

    @property
    def encoder(self) -> nn.Module:
        """The pretrained part (trained at a lower learning rate)."""
        return self.backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.normalize(images)))

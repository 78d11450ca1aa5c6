"""Training losses."""

from __future__ import annotations

import torch
from segmentation_models_pytorch.losses import DiceLoss
from torch import nn

from ..config import CLASSIFICATION_LOSSES
from ..data.sample import IGNORE_INDEX


class CrossEntropyDiceLoss(nn.Module):
    """Pixel cross-entropy plus soft multi-class Dice, both skipping IGNORE_INDEX pixels.

    Cross-entropy alone lets the large background class dominate small objects; the Dice term
    weighs every class present in the batch equally, which is what the Kaggle Dice rewards.
    """

    def __init__(self, dice_weight: float = 0.5) -> None:
        super().__init__()
        self.cross_entropy = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
        self.dice = DiceLoss(mode="multiclass", ignore_index=IGNORE_INDEX, from_logits=True)
        self.dice_weight = dice_weight

    def forward(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return self.cross_entropy(logits, masks) + self.dice_weight * self.dice(logits, masks)


class AsymmetricLoss(nn.Module):
    """timm's asymmetric loss (Ridnik et al. 2021), averaged over the elements instead of
    summed, so its scale (and the weight decay / L2 that balances it) matches BCE's."""

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05):
        super().__init__()
        from timm.loss import AsymmetricLossMultiLabel

        self.loss = AsymmetricLossMultiLabel(gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, targets) / logits.numel()


def positive_weights(labels: torch.Tensor, max_weight: float = 10.0) -> torch.Tensor:
    """Per-class BCE weight of positives: negatives / positives, clipped to [1, max_weight] so
    a class seen twice does not dominate the loss."""
    positives = labels.float().sum(0)
    negatives = len(labels) - positives
    return (negatives / positives.clamp(min=1)).clamp(1.0, max_weight)


def classification_loss(name: str, positive_weight: torch.Tensor | None = None) -> nn.Module:
    """Multi-label loss by name: 'bce', 'weighted_bce' (BCE with `positive_weight` per class,
    see `positive_weights`) or 'asl' (asymmetric loss: down-weights the many easy negatives)."""
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name == "weighted_bce":
        if positive_weight is None:
            raise ValueError("weighted_bce needs per-class positive weights")
        return nn.BCEWithLogitsLoss(pos_weight=positive_weight)
    if name == "asl":
        return AsymmetricLoss()
    raise ValueError(f"unknown classification loss '{name}'; choose from {CLASSIFICATION_LOSSES}")

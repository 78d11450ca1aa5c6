"""Training losses."""

from __future__ import annotations

import torch
from segmentation_models_pytorch.losses import DiceLoss
from torch import nn

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

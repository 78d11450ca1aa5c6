"""The tasks' training losses: multi-label (BCE, weighted BCE, ASL) and segmentation (CE,
OHEM, focal and Dice terms, class weights)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import DiceLoss, FocalLoss
from torch import nn

from ..config import CLASSIFICATION_LOSSES, SEGMENTATION_LOSS_TERMS
from ..data.sample import IGNORE_INDEX


class SegmentationLoss(nn.Module):
    """Weighted sum of per-pixel loss terms over K + 1 channel logits (see `Segmenter`),
    IGNORE_INDEX pixels skipped by every term.

    Terms: 'ce' (cross-entropy, optionally class-weighted), 'ohem' (the same on the hardest
    pixels only, see `ohem_cross_entropy`), 'focal' (down-weights easy pixels) and 'dice'
    (soft Dice; cross-entropy alone lets the large background class
    dominate small objects, Dice weighs every class present equally, as the Kaggle Dice
    does). With `binary`, Dice is taken on the foreground channel alone, as binary Dice.
    """

    def __init__(
        self,
        terms: str,
        weights: tuple[float, ...] = (1.0, 0.5),
        class_weights: torch.Tensor | None = None,
        binary: bool = False,
    ) -> None:
        super().__init__()
        names = terms.split("+")
        if any(n not in SEGMENTATION_LOSS_TERMS for n in names) or len(names) != len(weights):
            raise ValueError(
                f"segmentation loss '{terms}' with weights {list(weights)}: need terms of "
                f"{SEGMENTATION_LOSS_TERMS} joined by '+', one weight each"
            )
        self.weights = list(weights)
        self.register_buffer("class_weights", class_weights, persistent=False)
        dice_classes = [1] if binary else None
        self.terms = nn.ModuleDict()
        for name in names:
            if name == "focal":
                self.terms[name] = FocalLoss(mode="multiclass", ignore_index=IGNORE_INDEX)
            elif name == "dice":
                self.terms[name] = DiceLoss(
                    mode="multiclass", classes=dice_classes, ignore_index=IGNORE_INDEX
                )
        self.names = names

    def forward(self, logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        total = logits.new_zeros(())
        for name, weight in zip(self.names, self.weights, strict=True):
            if name == "ce":
                term = F.cross_entropy(
                    logits, masks, weight=self.class_weights, ignore_index=IGNORE_INDEX
                )
            elif name == "ohem":
                term = ohem_cross_entropy(logits, masks, self.class_weights)
            else:
                term = self.terms[name](logits, masks)
            total = total + weight * term
        return total


def ohem_cross_entropy(
    logits: torch.Tensor,
    masks: torch.Tensor,
    weight: torch.Tensor | None = None,
    threshold: float = 0.7,
    min_fraction: float = 1 / 16,
) -> torch.Tensor:
    """Online hard example mining (Shrivastava et al. 2016; as in PSPNet and mmseg): the
    cross-entropy averaged over the pixels whose true class has probability below
    `threshold`, and at least the `min_fraction` hardest of the batch's labelled pixels, so
    the many easy road or sky pixels stop drowning thin poles and signs. N x C x H x W logits,
    N x H x W targets (IGNORE_INDEX skipped).

    With class `weight`s the pixels are still chosen by their unweighted loss (the
    probability rule), and the chosen ones averaged with their class's weight, as weighted
    cross-entropy averages: a weight changes how much a hard pixel counts, not which are hard."""
    labelled = masks != IGNORE_INDEX
    losses = F.cross_entropy(logits, masks, ignore_index=IGNORE_INDEX, reduction="none")
    losses = losses[labelled]
    if losses.numel() == 0:
        return logits.sum() * 0.0
    hard = losses > -np.log(threshold)
    at_least = max(1, int(min_fraction * losses.numel()))
    if int(hard.sum()) < at_least:
        hard = torch.zeros_like(hard)
        hard[losses.topk(at_least).indices] = True
    if weight is None:
        return losses[hard].mean()
    pixel_weights = weight[masks[labelled]][hard]
    return (losses[hard] * pixel_weights).sum() / pixel_weights.sum()


def pixel_class_weights(masks: list[np.ndarray], num_labels: int) -> torch.Tensor:
    """Cross-entropy weight per class: 1 / sqrt(pixel frequency) over the training masks,
    normalised to mean 1 over the classes present; absent classes get 1."""
    counts = np.zeros(num_labels, dtype=np.float64)
    for mask in masks:
        counts += np.bincount(mask[mask != IGNORE_INDEX].ravel(), minlength=256)[:num_labels]
    present = counts > 0
    weights = np.ones(num_labels)
    weights[present] = 1 / np.sqrt(counts[present] / counts.sum())
    weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


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

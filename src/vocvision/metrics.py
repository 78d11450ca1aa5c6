"""Every score vocvision reports, defined once: training's validation, the evaluation step, the
attacks and the benchmarks all use these, so one name means one number everywhere.

- Multi-label: mAP over the classes with positives, F1, precision, recall (torchmetrics) and
  the mean per-image Dice of the label vectors (the Kaggle classification half; 1 where both
  are empty).
- Segmentation: a pixel confusion matrix (ignore pixels skipped) gives per-class IoU and
  Dice, mIoU and mean Dice over the classes present in truth or prediction (background
  included when the set has one, as VOC does), pixel accuracy; the Kaggle segmentation half is
  each image's Dice of the stacked masks [mask == k], k >= 1, averaged over images.

`SegmentationScores` and `LabelScores` are torchmetrics `Metric`s: they accumulate batches and
sum their states across DDP processes before computing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import (
    multilabel_average_precision,
    multilabel_f1_score,
    multilabel_precision,
    multilabel_recall,
)

from .data.sample import IGNORE_INDEX


def dice_per_image(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Dice of each row's multi-hot vectors (N x K); 1 where both are empty (Kaggle rule)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    inter = (pred & truth).sum(1)
    total = pred.sum(1) + truth.sum(1)
    return np.where(total == 0, 1.0, 2 * inter / np.maximum(total, 1))


def image_mask_dice(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Kaggle segmentation Dice of each image (N x H x W label masks): Dice of the stacked
    masks [mask == k], k >= 1. Ignore pixels in `truth` are no class, so they count as
    background, as in the solution file; 1 where both are empty."""
    truth_fg = (truth >= 1) & (truth != IGNORE_INDEX)
    pred_fg = (pred >= 1) & (pred != IGNORE_INDEX)
    inter = (pred_fg & truth_fg & (pred == truth)).flatten(1).sum(1).double()
    total = (pred_fg.flatten(1).sum(1) + truth_fg.flatten(1).sum(1)).double()
    return torch.where(total == 0, torch.ones_like(total), 2 * inter / total.clamp(min=1))


def mask_dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """`image_mask_dice` of one H x W image."""
    return float(image_mask_dice(torch.from_numpy(pred)[None], torch.from_numpy(truth)[None]))


def confusion_matrix(pred: np.ndarray, truth: np.ndarray, num_labels: int) -> np.ndarray:
    """num_labels x num_labels pixel counts [truth, pred], ignore pixels skipped."""
    keep = truth != IGNORE_INDEX
    index = truth[keep].astype(np.int64) * num_labels + pred[keep].astype(np.int64)
    return np.bincount(index, minlength=num_labels**2).reshape(num_labels, num_labels)


def iou_per_class(confusion: np.ndarray) -> np.ndarray:
    """IoU of each class from a confusion matrix; NaN for classes absent from truth and pred."""
    inter = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def scores_from_confusion(confusion: np.ndarray, background: bool = True) -> dict:
    """Per-class IoU and Dice ((K + 1) entries, NaN where a class is in neither truth nor
    prediction), mIoU and mean Dice over the classes present (background only when the set
    has one), pixel accuracy; binary sets (K = 1) also get the foreground's Dice, IoU,
    precision and recall (the spatial true-positive rate)."""
    confusion = np.asarray(confusion, dtype=np.int64)
    iou = iou_per_class(confusion)
    inter = np.diag(confusion).astype(float)
    sizes = confusion.sum(0) + confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(sizes > 0, 2 * inter / sizes, np.nan)
    scored = slice(0 if background else 1, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no class present: NaN, said so
        result = {
            "confusion": confusion,
            "per_class_iou": iou,
            "per_class_dice": dice,
            "mIoU": float(np.nanmean(iou[scored])),
            "mean_dice": float(np.nanmean(dice[scored])),
            "pixel_accuracy": float(inter.sum() / max(1, confusion.sum())),
        }
    if len(confusion) == 2 and background:
        tp, fp, fn = confusion[1, 1], confusion[0, 1], confusion[1, 0]
        result |= {
            "dice": float(2 * tp / max(1, 2 * tp + fp + fn)),
            "iou": float(tp / max(1, tp + fp + fn)),
            "precision": float(tp / max(1, tp + fp)),
            "recall": float(tp / max(1, tp + fn)),
        }
    return result


class SegmentationScores(Metric):
    """Pixel confusion and per-image Kaggle Dice accumulated over batches of label masks;
    `compute()` gives `scores_from_confusion(...)` plus `kaggle_dice` and `images`.

    Args:
        num_classes: K, the classes besides background (labels 0..K).
        background: whether the set has a background class (see `scores_from_confusion`).

    Example::

        scores = SegmentationScores(num_classes=5)
        scores.update(logits.argmax(1), masks)       # N x H x W each, any size per call
        scores.compute()["mIoU"]
    """

    full_state_update = False

    def __init__(self, num_classes: int, background: bool = True) -> None:
        super().__init__()
        self.num_labels, self.background = num_classes + 1, background
        self.add_state(
            "confusion", torch.zeros(self.num_labels, self.num_labels, dtype=torch.long), "sum"
        )
        self.add_state("dice_sum", torch.zeros((), dtype=torch.float64), "sum")
        self.add_state("images", torch.zeros((), dtype=torch.long), "sum")

    def update(self, pred: torch.Tensor, truth: torch.Tensor) -> None:
        """Add N x H x W predicted and true label masks (truth may hold IGNORE_INDEX)."""
        pred, truth = pred.long(), truth.long()
        keep = truth != IGNORE_INDEX
        index = truth[keep] * self.num_labels + pred[keep].clamp(0, self.num_labels - 1)
        counts = torch.bincount(index, minlength=self.num_labels**2)
        self.confusion += counts.reshape(self.num_labels, self.num_labels)
        self.dice_sum += image_mask_dice(pred, truth).sum()
        self.images += len(pred)

    def compute(self) -> dict:
        result = scores_from_confusion(self.confusion.cpu().numpy(), self.background)
        images = int(self.images)
        result["kaggle_dice"] = float(self.dice_sum) / images if images else float("nan")
        result["images"] = images
        return result


def segmentation_metrics(
    preds: Sequence[np.ndarray], truths: Sequence[np.ndarray], num_classes: int, background=True
) -> dict:
    """`SegmentationScores` of whole-image numpy masks (each pair the same size)."""
    scores = SegmentationScores(num_classes, background)
    for pred, truth in zip(preds, truths, strict=True):
        scores.update(torch.from_numpy(pred)[None], torch.from_numpy(truth)[None])
    return scores.compute()


def classification_metrics(
    probabilities: np.ndarray, labels: np.ndarray, predicted: np.ndarray
) -> dict:
    """Multi-label metrics of N x K scores and `predicted` labels against the true `labels`:
    mAP and per-class AP, micro F1 and macro F1 (means over the classes with positives: AP
    and recall are undefined without one), micro precision and recall, and mean per-image
    Dice (the Kaggle half)."""
    scores = torch.from_numpy(np.asarray(probabilities, dtype=np.float32))
    truth = torch.from_numpy(np.asarray(labels).astype(np.int64))
    hard = torch.from_numpy(np.asarray(predicted).astype(np.int64))
    k = truth.shape[1]
    present = np.asarray(labels).sum(0) > 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No positive samples")
        ap = multilabel_average_precision(scores, truth, num_labels=k, average="none").numpy()
    f1 = multilabel_f1_score(hard, truth, num_labels=k, average="none").numpy()
    ap = np.where(present, ap, np.nan)
    return {
        "mAP": float(ap[present].mean()) if present.any() else float("nan"),
        "per_class_ap": ap.tolist(),
        "per_class_f1": np.where(present, f1, np.nan).tolist(),
        "f1_micro": float(multilabel_f1_score(hard, truth, num_labels=k, average="micro")),
        "f1_macro": float(f1[present].mean()) if present.any() else float("nan"),
        "precision": float(multilabel_precision(hard, truth, num_labels=k, average="micro")),
        "recall": float(multilabel_recall(hard, truth, num_labels=k, average="micro")),
        "dice": float(dice_per_image(np.asarray(predicted), np.asarray(labels)).mean()),
    }


class LabelScores(Metric):
    """Multi-label probabilities and true labels accumulated over batches; `compute()` gives
    `classification_metrics` with labels at `threshold`.

    Example::

        scores = LabelScores(threshold=0.5)
        scores.update(logits.sigmoid(), labels)      # N x K each
        scores.compute()["mAP"]
    """

    full_state_update = False

    def __init__(self, threshold: float | Sequence[float] = 0.5) -> None:
        super().__init__()
        self.threshold = np.asarray(threshold, dtype=np.float32)
        self.add_state("probabilities", [], "cat")
        self.add_state("labels", [], "cat")

    def update(self, probabilities: torch.Tensor, labels: torch.Tensor) -> None:
        self.probabilities.append(probabilities.detach().float())
        self.labels.append(labels.detach().long())

    def compute(self) -> dict:
        probabilities = _concatenated(self.probabilities).cpu().numpy()
        labels = _concatenated(self.labels).cpu().numpy()
        predicted = (probabilities > self.threshold).astype(np.uint8)
        return classification_metrics(probabilities, labels, predicted)


def _concatenated(state) -> torch.Tensor:
    """A "cat" state: a list before a DDP sync, one tensor after it."""
    return torch.cat(state) if isinstance(state, list) else state

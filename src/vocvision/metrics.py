"""Metrics in numpy, shared by training, the scorer's users and the report."""

from __future__ import annotations

import numpy as np

from .data.sample import IGNORE_INDEX


def dice_per_image(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Dice of each row's multi-hot vectors (N x K); 1 where both are empty (Kaggle rule)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    inter = (pred & truth).sum(1)
    total = pred.sum(1) + truth.sum(1)
    return np.where(total == 0, 1.0, 2 * inter / np.maximum(total, 1))


def mask_dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Kaggle segmentation Dice of one image: Dice of the stacked masks [mask == k], k >= 1.

    Ignore pixels in `truth` are not any class, so they count as background, as in the
    solution file.
    """
    truth_fg = (truth >= 1) & (truth != IGNORE_INDEX)
    pred_fg = pred >= 1
    total = np.count_nonzero(pred_fg) + np.count_nonzero(truth_fg)
    if total == 0:
        return 1.0
    return 2 * np.count_nonzero(pred_fg & truth_fg & (pred == truth)) / total


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


def segmentation_metrics(
    preds: list[np.ndarray], truths: list[np.ndarray], num_classes: int, background: bool = True
) -> dict:
    """Segmentation metrics of predicted against true masks (0 = background, 1..K, ignore
    pixels skipped), over all images' pixels:

    - `confusion` ((K + 1) x (K + 1) pixel counts [truth, pred]);
    - `per_class_iou` and `per_class_dice` (K + 1 entries, NaN where a class is in neither),
      `mIoU` and `mean_dice` over the classes present, background included when the set has
      one (VOC convention);
    - `pixel_accuracy`; `kaggle_dice`, the mean per-image stacked Dice of the Kaggle rows;
    - binary sets (K = 1) also get the foreground's `dice`, `iou`, `precision` and `recall`
      (recall is the spatial true-positive rate).
    """
    num_labels = num_classes + 1
    confusion = sum(confusion_matrix(p, t, num_labels) for p, t in zip(preds, truths, strict=True))
    iou = iou_per_class(confusion)
    inter = np.diag(confusion).astype(float)
    sizes = confusion.sum(0) + confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(sizes > 0, 2 * inter / sizes, np.nan)
    scored = slice(0 if background else 1, None)
    result = {
        "confusion": confusion,
        "per_class_iou": iou,
        "per_class_dice": dice,
        "mIoU": float(np.nanmean(iou[scored])),
        "mean_dice": float(np.nanmean(dice[scored])),
        "pixel_accuracy": float(inter.sum() / max(1, confusion.sum())),
        "kaggle_dice": float(
            np.mean([mask_dice(p, t) for p, t in zip(preds, truths, strict=True)])
        ),
    }
    if num_classes == 1:
        tp, fp, fn = confusion[1, 1], confusion[0, 1], confusion[1, 0]
        result |= {
            "dice": float(2 * tp / max(1, 2 * tp + fp + fn)),
            "iou": float(tp / max(1, tp + fp + fn)),
            "precision": float(tp / max(1, tp + fp)),
            "recall": float(tp / max(1, tp + fn)),
        }
    return result


def classification_metrics(
    probabilities: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
) -> dict:
    """Multi-label metrics of N x K scores and `predicted` labels against the true `labels`:
    mAP and per-class AP, micro F1 and macro F1 (means over the classes with positives: AP
    and recall are undefined without one), micro precision and recall, and mean per-image
    Dice (the Kaggle half)."""
    import warnings

    import torch
    from torchmetrics.functional.classification import (
        multilabel_average_precision,
        multilabel_f1_score,
        multilabel_precision,
        multilabel_recall,
    )

    scores = torch.from_numpy(np.asarray(probabilities, dtype=np.float32))
    truth = torch.from_numpy(labels.astype(np.int64))
    hard = torch.from_numpy(predicted.astype(np.int64))
    k = labels.shape[1]
    present = labels.sum(0) > 0
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
        "dice": float(dice_per_image(predicted, labels).mean()),
    }

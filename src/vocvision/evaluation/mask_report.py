"""Section 3 material: the segmenter's masks against the true masks."""

from __future__ import annotations

import numpy as np

from .. import figures
from ..data import ImageSet
from ..metrics import mask_dice, segmentation_metrics
from .examples import best_and_worst


def image_dice(masks: list[np.ndarray], answers: ImageSet) -> np.ndarray:
    """Each image's Kaggle Dice (the segmentation half's per-image score)."""
    return np.array([mask_dice(m, s.mask) for m, s in zip(masks, answers.samples, strict=True)])


def segmentation_scores(
    masks: list[np.ndarray], answers: ImageSet, where: str, out: figures.FigureFolder
) -> dict:
    """Summary metrics, per-class IoU and Dice, the confusion matrix, and the best and worst
    images of label `masks` (vocvision's labels) against the `answers`' masks."""
    truths = [s.mask for s in answers.samples]
    m = segmentation_metrics(masks, truths, answers.num_classes, answers.has_background)
    first = 0 if answers.has_background else 1
    names = ["background", *answers.classes][first:]
    confusion = m["confusion"][first:, first:]
    out.save(
        "segmenter_per_class_iou",
        figures.class_bars(names, m["per_class_iou"][first:], "IoU", f"Per-class IoU, {where}"),
        f"Intersection over union of each class on the {where}, best at the top; classes "
        "absent from both truth and prediction are left out.",
    )
    out.save(
        "segmenter_confusion",
        figures.confusion_heatmap(confusion, names, f"Pixel confusion (row = truth), {where}"),
        "Where each true class's pixels went (rows sum to 1): the diagonal is per-class "
        "recall, bright cells off it are the classes the segmenter mixes up.",
    )
    dice = image_dice(masks, answers)
    rows = []
    for tag, i in best_and_worst(dice):
        sample, pred = answers.samples[i], masks[i]
        panels = [
            sample.image,
            figures.overlay(sample.image, sample.mask),
            figures.overlay(sample.image, pred),
            figures.error_map(pred, sample.mask),
        ]
        rows.append((f"{tag}: {sample.id}\nDice {dice[i]:.3f}"[:60], panels))
    out.save(
        "segmenter_best_worst",
        figures.image_grid(rows, ["image", "truth", "prediction", "errors"], answers.classes),
        f"The best and worst images of the {where} by Kaggle Dice, with the truth, the "
        "prediction and the errors (red: wrong, green: right, grey: ignored).",
    )
    keys = (
        "mIoU",
        "mean_dice",
        "pixel_accuracy",
        "kaggle_dice",
        "dice",
        "iou",
        "precision",
        "recall",
    )
    return {
        "summary": {k: m[k] for k in keys if k in m},
        "classes": names,
        "per_class_iou": m["per_class_iou"][first:].tolist(),
        "per_class_dice": m["per_class_dice"][first:].tolist(),
        "confusion": confusion.tolist(),
        "image_dice": dict(zip(answers.ids, dice.tolist(), strict=True)),
    }

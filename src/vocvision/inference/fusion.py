"""Image labels from both models: classifier probabilities fused with predicted class areas.

In this task an image's labels are exactly the classes present in its mask, so the
segmenter's predicted area of a class is evidence of presence that the classifier lacks
(on MSRC-v2 the fused score beat the classifier alone on the validation split).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metrics import dice_per_image
from .thresholds import apply_thresholds, best_global_threshold, per_class_thresholds

# Predicted area (fraction of the image) at which a class counts as fully present; the
# validation split picks one of these, or none (classifier alone).
AREA_SCALES = (0.01, 0.02, 0.05)


def class_areas(masks: Sequence[np.ndarray], num_classes: int) -> np.ndarray:
    """N x K fraction of each image's pixels predicted as class k (1-based in the masks)."""
    return np.array(
        [
            np.bincount(m.ravel(), minlength=num_classes + 1)[1 : num_classes + 1] / m.size
            for m in masks
        ]
    )


def fuse(probabilities: np.ndarray, areas: np.ndarray, area_scale: float) -> np.ndarray:
    """Mean of the classifier probability and the area evidence min(1, area / area_scale)."""
    return (probabilities + np.clip(areas / area_scale, 0.0, 1.0)) / 2


def choose_labelling(
    probabilities: np.ndarray,
    areas: np.ndarray | None,
    labels: np.ndarray,
    per_class: bool = False,
    at_least_one: bool = False,
) -> dict:
    """Pick classifier-only or fused scores (and the area scale) plus the threshold (one, or
    one per class with `per_class`) with the best per-image Dice on held-out `labels`.
    Fusion must do strictly better to be chosen."""
    candidates = [None] + (list(AREA_SCALES) if areas is not None else [])
    results = []
    for scale in candidates:
        scores = probabilities if scale is None else fuse(probabilities, areas, scale)
        if per_class:
            threshold = per_class_thresholds(scores, labels).tolist()
        else:
            threshold = best_global_threshold(scores, labels)
        predicted = apply_thresholds(scores, np.asarray(threshold), at_least_one)
        results.append((float(dice_per_image(predicted, labels).mean()), scale, threshold))
    best = max(results, key=lambda r: (r[0], r[1] is None))
    return {
        "threshold": best[2],
        "fusion_area_scale": best[1],
        "at_least_one": at_least_one,
        "val_dice": best[0],
        "val_dice_classifier_only": results[0][0],
    }

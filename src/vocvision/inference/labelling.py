"""How image labels are made: the labelling rule, and choosing it on held-out images.

Label scores are the classifier's probabilities, or those fused with the segmenter's
predicted class areas: in this task an image's labels are exactly the classes present in its
mask, so the predicted area of a class is evidence of presence that the classifier lacks (on
MSRC-v2 the fused score beat the classifier alone on the validation split). A threshold (one,
or one per class) turns scores into labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import VocvisionError
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


class ThresholdError(VocvisionError, ValueError):
    """A label threshold outside 0..1."""


@dataclass(frozen=True)
class LabellingRule:
    """Scores -> labels: `threshold` (one, or one per class), fused with the predicted class
    areas at `fusion_area_scale` (None: the classifier alone), and with `at_least_one` an
    image without labels gets its best class. The other fields say where it was chosen."""

    threshold: float | tuple[float, ...] = 0.5
    fusion_area_scale: float | None = None
    at_least_one: bool = False
    chosen_on: str | None = None
    val_images: int | None = None
    val_dice: float | None = None
    val_dice_classifier_only: float | None = None

    @property
    def fused(self) -> bool:
        return self.fusion_area_scale is not None

    def scores(self, probabilities: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
        """The label scores: `probabilities`, fused with `areas` when the rule fuses."""
        if self.fusion_area_scale is None or areas is None:
            return probabilities
        return fuse(probabilities, areas, self.fusion_area_scale)

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """N x K uint8 labels of N x K label scores."""
        return apply_thresholds(scores, np.asarray(self.threshold), self.at_least_one)

    def with_threshold(self, threshold: float | Sequence[float]) -> LabellingRule:
        """The same rule with another threshold (e.g. `submit --threshold`), each in 0..1."""
        values = list(threshold) if isinstance(threshold, Sequence) else [threshold]
        bad = [v for v in values if not (isinstance(v, int | float) and 0 <= v <= 1)]
        if bad:  # NaN fails both comparisons, so it is caught too
            raise ThresholdError(f"a threshold must be a number in 0..1, got {bad[0]!r}")
        value = tuple(map(float, values)) if isinstance(threshold, Sequence) else float(threshold)
        return replace(self, threshold=value, chosen_on="given")

    def to_dict(self) -> dict:
        data = asdict(self)
        if isinstance(self.threshold, tuple):
            data["threshold"] = list(self.threshold)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> LabellingRule:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("threshold"), list):
            known["threshold"] = tuple(known["threshold"])
        return cls(**known)


def choose_labelling(
    probabilities: np.ndarray,
    areas: np.ndarray | None,
    labels: np.ndarray,
    per_class: bool = False,
    at_least_one: bool = False,
) -> LabellingRule:
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
    return LabellingRule(
        threshold=tuple(best[2]) if isinstance(best[2], list) else best[2],
        fusion_area_scale=best[1],
        at_least_one=at_least_one,
        chosen_on="validation split",
        val_images=len(labels),
        val_dice=best[0],
        val_dice_classifier_only=results[0][0],
    )

"""How image labels are made: the labelling rule, and choosing it on held-out images.

Label scores are the classifier's probabilities, or those fused with the segmenter's
predicted class areas: in this task an image's labels are exactly the classes present in its
mask, so the predicted area of a class is evidence of presence that the classifier lacks (on
MSRC-v2 the fused score beat the classifier alone on the validation split). A threshold (one,
or one per class) turns scores into labels. `labelling_rule_for` picks the rule on held-out
predictions: the threshold on as many as there are (the probe's out-of-fold ones included),
fusion when it beats the classifier alone, both cross-fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import VocvisionError
from ..metrics import dice_per_image
from ..uncertainty import compare, mean_of
from .thresholds import apply_thresholds, best_global_threshold, per_class_thresholds

# Predicted area (fraction of the image) at which a class counts as fully present; the
# validation part picks one of these, or none (classifier alone).
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

    @staticmethod
    def provenance(chosen_on: str | None) -> str:
        """Where a rule's threshold came from, in words: `chosen_on` is "given" (submit
        --threshold), "configured" (classifier.threshold) or the held-out images it was
        chosen on."""
        words = {"given": "given to submit", "configured": "set in the configuration"}
        if chosen_on in words:
            return words[chosen_on]
        return f"chosen on the {chosen_on or 'validation part'}"

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


def labelling_rule_for(
    probabilities: np.ndarray,
    areas: np.ndarray | None,
    labels: np.ndarray,
    per_class: bool = False,
    at_least_one: bool = False,
    pooled: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> LabellingRule:
    """The labelling rule for held-out `probabilities` (N x K, with true `labels`) and, when
    given, the segmenter's predicted class `areas` on the same images.

    The classifier-alone threshold (one, or one per class with `per_class`) is chosen on
    those images together with `pooled` (probabilities, labels): more held-out predictions,
    e.g. the probe's out-of-fold ones on the training part. Fusion with the areas can only be
    judged on the N images: each area scale is cross-fitted on them (thresholds chosen on the
    other folds) against the classifier alone (its threshold cross-fitted on the rest of the
    pool), and fusion is chosen when the best scale's mean gain in per-image Dice is above
    zero; the rule's words give that gain's 95 % paired-bootstrap interval.

    Why the mean and not the interval: on MSRC-v2 dev runs of 5 to 20 minutes the best
    scale's cross-fitted gain was +0.009 to +0.017 on 49 validation images, never beyond
    noise, so an interval rule kept the classifier alone (test Dice 0.877 in all four), where
    fusion scored 0.889 to 0.915 on the 53 test images (docs/benchmarks.md, "Labelling")."""
    pool_p, pool_y = probabilities, labels
    if pooled is not None and len(pooled[0]):
        pool_p, pool_y = (
            np.concatenate([pooled[0], probabilities]),
            np.concatenate([pooled[1], labels]),
        )
    choose = per_class_thresholds if per_class else best_global_threshold
    alone = np.asarray(choose(pool_p, pool_y))
    dice = float(dice_per_image(apply_thresholds(pool_p, alone, at_least_one), pool_y).mean())
    rule = LabellingRule(
        threshold=tuple(alone.tolist()) if per_class else float(alone),
        at_least_one=at_least_one,
        chosen_on=_where(len(pool_p), len(labels)),
        val_images=len(pool_p),
        val_dice=dice,
        val_dice_classifier_only=dice,
    )
    if areas is None or len(labels) < 2 * FUSION_FOLDS:
        return rule
    return _fusion_rule(probabilities, areas, labels, (pool_p, pool_y), choose, rule, seed)


def _fusion_rule(probabilities, areas, labels, pool, choose, alone: LabellingRule, seed: int):
    """The fused rule of the best area scale when it beats the classifier alone (`alone`)
    cross-fitted on the N held-out images (see `labelling_rule_for`), else `alone`."""
    at_least_one = alone.at_least_one
    folds = _folds(len(labels), seed)
    offset = len(pool[0]) - len(labels)  # the N images are the pool's last rows
    base = _cross_fitted(pool[0], pool[1], folds, choose, at_least_one, offset)
    best_scale, best = None, None
    for scale in AREA_SCALES:
        dice = _cross_fitted(fuse(probabilities, areas, scale), labels, folds, choose, at_least_one)
        if best is None or dice.mean() > best.mean():
            best_scale, best = scale, dice
    gain = compare(mean_of(best), mean_of(base), len(labels), seed=seed)
    if gain.difference <= 0:
        return alone
    fused = fuse(probabilities, areas, best_scale)
    threshold = np.asarray(choose(fused, labels))
    predicted = apply_thresholds(fused, threshold, at_least_one)
    return LabellingRule(
        threshold=tuple(threshold.tolist()) if threshold.ndim else float(threshold),
        fusion_area_scale=best_scale,
        at_least_one=at_least_one,
        chosen_on=(
            f"validation part ({len(labels)} images; fusion gained {gain.difference:+.3f} "
            f"per-image Dice cross-fitted, 95 % interval {gain.low:+.3f} to {gain.high:+.3f})"
        ),
        val_images=len(labels),
        val_dice=float(dice_per_image(predicted, labels).mean()),
        val_dice_classifier_only=float(base.mean()),
    )


FUSION_FOLDS = 5  # cross-fitting folds over the validation part when judging fusion


def _where(pooled: int, own: int) -> str:
    if pooled == own:
        return f"validation part ({own} images)"
    return f"out-of-fold predictions on all {pooled} training images"


def _folds(n: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, FUSION_FOLDS)]


def _cross_fitted(scores, labels, folds, choose, at_least_one, offset: int = 0) -> np.ndarray:
    """Per-image Dice of the images `offset + folds`, each fold labelled at thresholds chosen
    on every other row of `scores` (an honest estimate of choosing the threshold)."""
    dice = np.zeros(sum(len(f) for f in folds))
    for held in folds:
        rest = np.setdiff1d(np.arange(len(scores)), held + offset)
        threshold = np.asarray(choose(scores[rest], labels[rest]))
        predicted = apply_thresholds(scores[held + offset], threshold, at_least_one)
        dice[held] = dice_per_image(predicted, labels[held + offset])
    return dice

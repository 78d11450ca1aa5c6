"""Prediction: probabilities, full-resolution masks, thresholds and the labelling rule."""

from .labelling import LabellingRule, class_areas, fuse, labelling_rule_for
from .predict import predict_masks, predict_probabilities
from .thresholds import (
    apply_thresholds,
    best_global_threshold,
    cross_fitted_labels,
    per_class_thresholds,
)

__all__ = [
    "LabellingRule",
    "apply_thresholds",
    "best_global_threshold",
    "class_areas",
    "cross_fitted_labels",
    "fuse",
    "labelling_rule_for",
    "per_class_thresholds",
    "predict_masks",
    "predict_probabilities",
]

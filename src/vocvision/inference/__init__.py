"""Prediction: probabilities, full-resolution masks, thresholds and the labelling rule."""

from .labelling import LabellingRule, choose_labelling, class_areas, fuse
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
    "choose_labelling",
    "class_areas",
    "cross_fitted_labels",
    "fuse",
    "per_class_thresholds",
    "predict_masks",
    "predict_probabilities",
]

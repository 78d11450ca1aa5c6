"""Prediction: classifier probabilities, full-resolution masks, thresholds and label fusion."""

from .fusion import choose_labelling, class_areas, fuse
from .predict import predict_masks, predict_probabilities
from .thresholds import best_global_threshold

__all__ = [
    "best_global_threshold",
    "choose_labelling",
    "class_areas",
    "fuse",
    "predict_masks",
    "predict_probabilities",
]

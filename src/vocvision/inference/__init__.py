"""Prediction: classifier probabilities and full-resolution masks."""

from .predict import predict_masks, predict_probabilities
from .thresholds import best_global_threshold

__all__ = ["best_global_threshold", "predict_masks", "predict_probabilities"]

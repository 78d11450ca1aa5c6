"""Prediction: classifier probabilities and full-resolution masks."""

from .predict import predict_masks, predict_probabilities

__all__ = ["predict_masks", "predict_probabilities"]

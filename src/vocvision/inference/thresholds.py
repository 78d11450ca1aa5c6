"""Turning multi-label scores into labels: thresholds chosen on held-out data.

Thresholds are always chosen on predictions for images the model did not train on (the
validation split, or out-of-fold predictions) and never on the images they are scored on;
`cross_fitted_labels` makes that explicit when one set of out-of-fold scores serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..metrics import dice_per_image

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def apply_thresholds(
    scores: np.ndarray, thresholds: float | np.ndarray, at_least_one: bool = False
) -> np.ndarray:
    """N x K uint8 labels: scores above the (global or per-class) thresholds; with
    `at_least_one`, an image with no label gets its highest-scoring class."""
    labels = scores > np.asarray(thresholds)
    if at_least_one and len(scores):
        empty = ~labels.any(1)
        labels[empty, scores[empty].argmax(1)] = True
    return labels.astype(np.uint8)


def best_global_threshold(
    probabilities: np.ndarray, labels: np.ndarray, grid: np.ndarray = THRESHOLD_GRID
) -> float:
    """The threshold on `grid` with the highest mean per-image Dice (the Kaggle metric).

    Ties go to the threshold closest to 0.5, so that a flat curve keeps the neutral choice.
    """
    scores = np.array([dice_per_image(probabilities > t, labels).mean() for t in grid])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def per_class_thresholds(
    probabilities: np.ndarray,
    labels: np.ndarray,
    grid: np.ndarray = THRESHOLD_GRID,
    rounds: int = 2,
) -> np.ndarray:
    """K thresholds maximising mean per-image Dice, by coordinate ascent from the best global
    threshold: per-image Dice couples the classes, so each class is tuned with the others
    fixed, `rounds` times over. A class only moves for a strict gain, so classes without
    evidence keep the global value."""
    thresholds = np.full(probabilities.shape[1], best_global_threshold(probabilities, labels))
    best = dice_per_image(probabilities > thresholds, labels).mean()
    for _ in range(rounds):
        for k in range(len(thresholds)):
            for t in grid:
                trial = thresholds.copy()
                trial[k] = t
                dice = dice_per_image(probabilities > trial, labels).mean()
                if dice > best + 1e-12:
                    best, thresholds = dice, trial
    return thresholds


ThresholdChooser = Callable[[np.ndarray, np.ndarray], float | np.ndarray]


def cross_fitted_labels(
    scores: np.ndarray,
    labels: np.ndarray,
    folds: Sequence[np.ndarray],
    choose: ThresholdChooser = best_global_threshold,
    at_least_one: bool = False,
) -> np.ndarray:
    """Labels for every image of an out-of-fold score matrix, each fold thresholded with
    thresholds `choose`n on the other folds only: an honest estimate of a threshold rule."""
    predicted = np.zeros_like(labels, dtype=np.uint8)
    everything = np.arange(len(scores))
    for held in folds:
        rest = np.setdiff1d(everything, held)
        thresholds = choose(scores[rest], labels[rest])
        predicted[held] = apply_thresholds(scores[held], thresholds, at_least_one)
    return predicted

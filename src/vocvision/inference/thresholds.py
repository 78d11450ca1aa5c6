"""Choosing the probability threshold of the multi-label classifier on held-out data."""

from __future__ import annotations

import numpy as np

from ..metrics import dice_per_image

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def best_global_threshold(
    probabilities: np.ndarray, labels: np.ndarray, grid: np.ndarray = THRESHOLD_GRID
) -> float:
    """The threshold on `grid` with the highest mean per-image Dice (the Kaggle metric).

    Ties go to the threshold closest to 0.5, so that a flat curve keeps the neutral choice.
    """
    scores = np.array([dice_per_image(probabilities > t, labels).mean() for t in grid])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])

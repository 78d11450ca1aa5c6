"""Train/validation splits that keep every class's share (iterative stratification)."""

from __future__ import annotations

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

from .sample import ImageSet


def stratified_split(
    images: ImageSet, val_fraction: float, seed: int = 0
) -> tuple[ImageSet, ImageSet]:
    """Split into (train, val) with multilabel stratification on the image labels."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    labels = _indicator(images.label_matrix())
    splitter = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=val_fraction, random_state=seed
    )
    train_idx, val_idx = next(splitter.split(np.zeros(len(labels)), labels))
    return images.subset(sorted(train_idx)), images.subset(sorted(val_idx))


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Assign N images (N x K multi-hot `labels`) to `folds` folds of near-equal size and
    class balance (multilabel iterative stratification); returns each fold's sorted indices."""
    if not 2 <= folds <= len(labels):
        raise ValueError(f"folds must be between 2 and the number of images, got {folds}")
    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    held_out = splitter.split(np.zeros(len(labels)), _indicator(labels))
    return [np.sort(held) for _, held in held_out]


def _indicator(labels: np.ndarray) -> np.ndarray:
    """Labels as iterative stratification takes them: one column (binary sets) gets its
    complement beside it, else scikit-learn reads it as a binary target and refuses."""
    return np.hstack([labels, 1 - labels]) if labels.shape[1] == 1 else labels

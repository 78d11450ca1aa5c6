"""Train/validation splits and folds that keep every class's share (iterative
stratification) and, given a pattern on the image ids, keep related images (one video
sequence, one patient) on one side: neighbouring video frames are near copies, and a fold
that holds some of them scores a model on images it has all but seen."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

from .sample import ImageSet
from .validation import DataError


def image_groups(ids: Sequence[str], pattern: str | None) -> np.ndarray | None:
    """Each id's group: what `pattern` (a regular expression) matches at the id's start, its
    first parenthesised group if it has one; an id it does not match is a group of its own.
    None without a pattern (every image its own group).

    Example: `image_groups(["0016E5_06390", "0001TP_006690"], "[^_]+")` is
    `["0016E5", "0001TP"]`."""
    if pattern is None:
        return None
    compiled = re.compile(pattern)
    groups = []
    for image_id in ids:
        found = compiled.match(image_id)
        groups.append(image_id if found is None else found.group(1 if compiled.groups else 0))
    return np.array(groups)


def stratified_split(
    images: ImageSet, val_fraction: float, seed: int = 0, groups: np.ndarray | None = None
) -> tuple[ImageSet, ImageSet]:
    """Split into (train, val) with multilabel stratification on the image labels; with
    `groups` (one name per image), whole groups go to one side (`val_fraction` of them)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    labels, members = _grouped(images.label_matrix(), groups, 2)
    splitter = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=val_fraction, random_state=seed
    )
    _, val_groups = next(splitter.split(np.zeros(len(labels)), _indicator(labels)))
    val_idx = np.sort(np.concatenate([members[g] for g in val_groups]))
    train_idx = np.setdiff1d(np.arange(len(images)), val_idx)
    return images.subset(train_idx.tolist()), images.subset(val_idx.tolist())


def stratified_folds(
    labels: np.ndarray, folds: int, seed: int = 0, groups: np.ndarray | None = None
) -> list[np.ndarray]:
    """Assign N images (N x K multi-hot `labels`) to `folds` folds of near-equal size and
    class balance (multilabel iterative stratification), whole `groups` to one fold when
    given; returns each fold's sorted indices."""
    if not 2 <= folds <= len(labels):
        raise ValueError(f"folds must be between 2 and the number of images, got {folds}")
    grouped, members = _grouped(labels, groups, folds)
    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    held_out = splitter.split(np.zeros(len(grouped)), _indicator(grouped))
    return [np.sort(np.concatenate([members[g] for g in held])) for _, held in held_out]


def _grouped(
    labels: np.ndarray, groups: np.ndarray | None, parts: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One row of labels per group (the classes any of its images has) and each group's
    image indices; without `groups`, one group per image."""
    if groups is None:
        return labels, [np.array([i]) for i in range(len(labels))]
    names, inverse = np.unique(groups, return_inverse=True)
    if len(names) < parts:
        raise DataError(
            f"group_pattern: the image ids fall into {len(names)} group(s) "
            f"({', '.join(map(str, names[:3]))}), too few to split into {parts} parts"
        )
    members = [np.flatnonzero(inverse == g) for g in range(len(names))]
    return np.stack([labels[m].max(0) for m in members]), members


def _indicator(labels: np.ndarray) -> np.ndarray:
    """Labels as iterative stratification takes them: one column (binary sets) gets its
    complement beside it, else scikit-learn reads it as a binary target and refuses."""
    return np.hstack([labels, 1 - labels]) if labels.shape[1] == 1 else labels

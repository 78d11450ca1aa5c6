"""Choosing which images to show: varied ones, not the first few of a split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def varied(labels: np.ndarray, count: int) -> list[int]:
    """Up to `count` indices of rows of N x K `labels` that together show as many classes as
    possible: each pick adds the most classes not yet shown (ties: the earliest image)."""
    chosen: list[int] = []
    shown = np.zeros(labels.shape[1], dtype=bool)
    for _ in range(min(count, len(labels))):
        gains = [
            -1 if i in chosen else int((labels[i].astype(bool) & ~shown).sum())
            for i in range(len(labels))
        ]
        best = int(np.argmax(gains))
        chosen.append(best)
        shown |= labels[best].astype(bool)
    return chosen


def best_and_worst(scores: Sequence[float], count: int = 3) -> list[tuple[str, int]]:
    """("best", i) for the `count` highest scores, then ("worst", i) for the lowest."""
    order = np.argsort(scores, kind="stable")
    best = [("best", int(i)) for i in order[::-1][:count]]
    worst = [("worst", int(i)) for i in order[:count] if ("best", int(i)) not in best]
    return best + worst

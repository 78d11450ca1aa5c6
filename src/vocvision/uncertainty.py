"""How sure a score is: 95 % bootstrap intervals over images, and paired comparisons.

A score measured on ~50 images moves by a few hundredths when other images are drawn, so a
gain of +0.005 means nothing by itself. Every score gets a percentile bootstrap interval
(the images resampled with replacement, `REPLICATES` times); a comparison of two models or
settings on the same images resamples the images once for both (a paired bootstrap) and is an
improvement only when the whole 95 % interval of the difference lies above zero.

Scores are per-image means (`mean_of`: per-image Dice, Kaggle Dice) or ratios of sums over
images (`miou_of`: the dataset's mIoU from per-image confusion matrices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .metrics import scores_from_confusion

REPLICATES, LEVEL = 1000, 0.95
Statistic = Callable[[np.ndarray], float]  # weights over images (N) -> the score


def mean_of(values: np.ndarray) -> Statistic:
    """The weighted mean of per-image `values` (a per-image score averaged over images)."""
    values = np.asarray(values, dtype=float)
    return lambda weights: float(weights @ values / weights.sum())


def miou_of(confusions: np.ndarray, background: bool = True) -> Statistic:
    """The mIoU of the weighted sum of per-image N x L x L pixel confusion matrices."""
    confusions = np.asarray(confusions, dtype=np.int64)
    return lambda weights: scores_from_confusion(
        np.tensordot(weights, confusions, axes=1).round().astype(np.int64), background
    )["mIoU"]


def _weights(n: int, replicates: int, seed: int) -> np.ndarray:
    """replicates x n counts of each image in a resample with replacement."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(replicates, n))
    return np.stack([np.bincount(d, minlength=n) for d in draws]).astype(float)


def interval(
    statistic: Statistic, n: int, replicates: int = REPLICATES, seed: int = 0
) -> list[float]:
    """[low, high]: the 95 % percentile bootstrap interval of `statistic` over n images."""
    values = [statistic(w) for w in _weights(n, replicates, seed)]
    tail = 100 * (1 - LEVEL) / 2
    return [float(np.nanpercentile(values, tail)), float(np.nanpercentile(values, 100 - tail))]


@dataclass(frozen=True)
class Comparison:
    """`new` against `old` on the same `images`: the difference and its 95 % paired
    bootstrap interval; `verdict` is "better", "worse" or "within noise"."""

    new: float
    old: float
    difference: float
    low: float
    high: float
    images: int
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def compare(
    new: Statistic, old: Statistic, n: int, replicates: int = REPLICATES, seed: int = 0
) -> Comparison:
    """Paired bootstrap of `new` - `old` over the same n images (each resample scores both
    on the same draw of images)."""
    everything = np.ones(n)
    differences = [new(w) - old(w) for w in _weights(n, replicates, seed)]
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.nanpercentile(differences, [tail, 100 - tail])
    verdict = "better" if low > 0 else "worse" if high < 0 else "within noise"
    a, b = new(everything), old(everything)
    return Comparison(a, b, a - b, float(low), float(high), n, verdict)

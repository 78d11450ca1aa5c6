"""The uncertainty of the report's numbers: intervals of the headline scores and the paired
comparisons behind each "Improvement" mark (see `uncertainty`)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..metrics import dice_per_image
from ..submission import Score
from ..uncertainty import compare, interval, mean_of, miou_of
from ..workflow.baselines import reference_baseline


def classification_noise(
    labels: np.ndarray, at_half: np.ndarray, truth: np.ndarray, baseline: np.ndarray | None
) -> tuple[dict, dict]:
    """(intervals, comparisons) of the per-image Dice of the run's `labels`, against the
    classifier at 0.5 (`at_half` labels) and the baseline's per-image Dice."""
    dice = dice_per_image(labels, truth)
    n = len(dice)
    intervals = {"dice": interval(mean_of(dice), n)}
    comparisons = {"labelling": compare(mean_of(dice), mean_of(dice_per_image(at_half, truth)), n)}
    if baseline is not None:
        comparisons["classifier_pretrained"] = compare(mean_of(dice), mean_of(baseline), n)
    return intervals, {k: c.to_dict() for k, c in comparisons.items()}


def segmentation_noise(
    confusions: np.ndarray,
    image_dice: np.ndarray,
    background: bool,
    views: dict[str, np.ndarray],
    baselines: dict[str, np.ndarray],
) -> tuple[dict, dict]:
    """(intervals, comparisons) of the masks' mIoU (from per-image `confusions`) and Kaggle
    Dice (`image_dice`), each inference view against the previous one (per-image Kaggle
    Dice), the segmenter against its closest baseline (`segmenter_pretrained`) and the
    U-Net over the pretrained encoder against the same U-Net from scratch
    (`segmenter_encoder`), on mIoU; `baselines` are per-image confusions by baseline name."""
    n = len(image_dice)
    miou = miou_of(confusions, background)
    intervals = {
        "mIoU": interval(miou, n),
        "kaggle_dice": interval(mean_of(image_dice), n),
    }
    comparisons = {}
    for (_, old), (new_name, new) in pairwise(views.items()):
        comparisons[f"view:{new_name}"] = compare(mean_of(new), mean_of(old), n)
    reference = reference_baseline(baselines, "segmenter")
    if reference is not None:
        old = miou_of(baselines[reference], background)
        comparisons["segmenter_pretrained"] = compare(miou, old, n)
    if "unet_pretrained" in baselines and "segmenter" in baselines:
        pretrained, scratch = (
            miou_of(baselines[name], background) for name in ("unet_pretrained", "segmenter")
        )
        comparisons["segmenter_encoder"] = compare(pretrained, scratch, n)
    return intervals, {k: c.to_dict() for k, c in comparisons.items()}


def score_intervals(score: Score) -> dict | None:
    """95 % intervals of a scored submission's Kaggle Dice and halves over its test images
    (each image is a classification row and a segmentation row)."""
    if not score.per_image:
        return None
    halves = np.array(list(score.per_image.values()), dtype=float)
    n = len(halves)
    found = {"dice": interval(mean_of(np.nanmean(halves, axis=1)), n)}
    for column, name in enumerate(("classification_dice", "segmentation_dice")):
        if not np.isnan(halves[:, column]).any():
            found[name] = interval(mean_of(halves[:, column]), n)
    return found

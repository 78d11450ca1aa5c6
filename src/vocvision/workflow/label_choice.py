"""Choosing how image labels are made, on held-out predictions (never the test split)."""

from __future__ import annotations

import numpy as np

from ..data import ImageSet
from ..inference import LabellingRule, class_areas, labelling_rule_for
from ..runfolder import RunFolder, RunInfo
from ..training import read_oof
from .run_models import TrainedModels


def choose_labelling(
    folder: RunFolder, info: RunInfo, models: TrainedModels, val: ImageSet
) -> LabellingRule:
    """The labelling rule for the run's classifier, saved as labelling.json (the one source
    of truth: predictions, submissions and the report all read it).

    A configured `classifier.threshold` is taken as it is. Otherwise the threshold of the
    classifier alone is chosen, for the best per-image Dice, on every held-out prediction
    there is: `val`'s and, for the probe, the out-of-fold ones on the training part (all the
    training images, not a 15 % part). Fusion with the segmenter's class areas (when the run
    allows it and has a segmenter) is judged on `val` alone, the only images the segmenter
    did not train on, and kept when it wins there, cross-fitted (`labelling_rule_for`)."""
    c = info.config.classifier
    if c.threshold is not None:
        rule = LabellingRule(c.threshold, at_least_one=c.at_least_one, chosen_on="configured")
        folder.write_labelling(rule)
        return rule
    classification = models.classification
    pixels = [s.image for s in val.samples]
    probabilities = classification.predict(models.classifier.model, pixels)
    areas = None
    if models.segmenter and info.config.label_fusion:
        masks = models.segmentation.predict(models.segmenter.model, pixels)
        areas = class_areas(masks, val.num_classes)
    rule = labelling_rule_for(
        probabilities,
        areas,
        val.label_matrix(),
        per_class=c.per_class_thresholds,
        at_least_one=c.at_least_one,
        pooled=_out_of_fold(folder, val),
        seed=info.config.seed,
    )
    folder.write_labelling(rule)
    return rule


def _out_of_fold(folder: RunFolder, val: ImageSet) -> tuple[np.ndarray, np.ndarray] | None:
    """The probe's out-of-fold (probabilities, labels) on the training part, if it saved
    them for images other than `val`'s."""
    path = folder.model("classifier").oof
    if not path.is_file():
        return None
    saved = read_oof(path)
    keep = ~np.isin(saved["ids"], val.ids)
    return saved["probabilities"][keep], saved["labels"][keep]

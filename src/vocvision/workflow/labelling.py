"""Choosing how image labels are made, on the run's validation part (never the test split)."""

from __future__ import annotations

from ..data import ImageSet
from ..inference import LabellingRule, choose_labelling, class_areas
from ..runfolder import RunFolder, RunInfo
from .models import TrainedModels


def tune_labelling(
    folder: RunFolder, info: RunInfo, models: TrainedModels, val: ImageSet
) -> LabellingRule:
    """Choose the classifier alone or fused with the segmenter's class areas (when the run
    allows fusion and has a segmenter), and the threshold, for the best per-image Dice on
    `val`; save the rule and set it on the classifier's task."""
    classification = models.classification
    pixels = [s.image for s in val.samples]
    probabilities = classification.predict(models.classifier.model, pixels)
    areas = None
    if models.segmenter and info.config.label_fusion:
        masks = models.segmentation.predict(models.segmenter.model, pixels)
        areas = class_areas(masks, val.num_classes)
    c = info.config.classifier
    rule = choose_labelling(
        probabilities,
        areas,
        val.label_matrix(),
        per_class=c.per_class_thresholds,
        at_least_one=c.at_least_one,
    )
    folder.write_labelling(rule)
    classification.rule = rule
    return rule

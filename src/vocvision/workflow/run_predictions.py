"""Predicting images with a run's models: labels under the labelling rule, masks in the
dataset's own values."""

from __future__ import annotations

import numpy as np

from ..data import ImageSet
from ..inference import LabellingRule, class_areas
from ..runfolder import Predictions, RunInfo
from .run_models import TrainedModels


def predict_images(
    models: TrainedModels,
    images: ImageSet,
    info: RunInfo,
    tta: bool = True,
    compile_model: bool = False,
    gate: bool | None = None,
    fast: bool = True,
) -> Predictions:
    """Predict `images` with the run's classifier and segmenter.

    The label scores are the classifier's probabilities, fused with the predicted class areas
    when the run's labelling rule does. With `gate` (default: the run's `gate_segmentation`;
    only without fusion, whose labels depend on the masks) each image's pixels may only take
    background or the classes the classifier predicts present. Without a classifier, labels
    are the classes present in the masks. `tta=False` predicts one view per model instead of
    the config's test-time augmentation; `compile_model` uses `torch.compile`.
    """
    pixels = [s.image for s in images.samples]
    classification, segmentation = models.classification, models.segmentation
    rule = classification.rule if classification else LabellingRule()
    if gate is None:
        gate = info.config.gate_segmentation
    probabilities = None
    if models.classifier:
        probabilities = classification.predict(
            models.classifier.model, pixels, tta=tta, fast=fast, compile_model=compile_model
        )
    masks = []
    if models.segmenter:
        allowed = None
        if gate and probabilities is not None and not rule.fused:
            allowed = probabilities > np.asarray(rule.threshold)
        masks = segmentation.predict(
            models.segmenter.model, pixels, tta, fast, compile_model, allowed=allowed
        )
    if probabilities is None:
        scores = np.array(
            [np.isin(np.arange(1, images.num_classes + 1), m) for m in masks], dtype=np.float32
        )
        labels = scores.astype(np.uint8)
    else:
        areas = class_areas(masks, images.num_classes) if masks else None
        scores = rule.scores(probabilities, areas)
        labels = rule.labels(scores)
    return Predictions(
        images.ids,
        list(info.classes),
        scores,
        labels,
        [info.coding.to_dataset(m) for m in masks],
        info.coding,
        probabilities,
    )

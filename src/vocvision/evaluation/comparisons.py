"""What each improvement bought, measured on the same answered images: the from-scratch
baselines, the test-time augmentation and CRF, the tuned labelling."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import figures
from ..data import ImageSet
from ..inference import LabellingRule
from ..inference.view_budget import Views
from ..metrics import (
    classification_metrics,
    confusion_matrix,
    dice_per_image,
    segmentation_metrics,
)
from ..runfolder import RunFolder, RunInfo
from ..workflow.baselines import BASELINES
from ..workflow.run_models import TrainedModels, load_models
from ..workflow.run_predictions import predict_images
from .baseline_facts import baseline_facts
from .mask_report import image_dice


def baseline_scores(
    folder: RunFolder,
    answers: ImageSet,
    loaded: dict[str, TrainedModels] | None,
    run_info: RunInfo,
    out: figures.FigureFolder,
) -> tuple[dict, dict]:
    """The summary metrics of each trained baseline (RUN/baselines/<name>) on `answers`
    (`loaded`: baselines already in memory, by name) with its training facts
    (`baseline_facts`), and by name what its comparison needs per image (a classifier's
    Dice, a segmenter's pixel confusions)."""
    found, per_image = {}, {}
    for name, b in BASELINES.items():
        baseline = RunFolder(folder.layout.baseline(name))
        if not baseline.is_run():
            continue
        info = baseline.read_info()
        models = (loaded or {}).get(name) or load_models(baseline, info)
        if b.model not in models:
            continue
        predictions = predict_images(models, answers, info)
        if b.model == "classifier":
            truth = answers.label_matrix()
            m = classification_metrics(predictions.scores, truth, predictions.labels)
            found[name] = {"label": b.label, **{k: m[k] for k in ("dice", "mAP", "f1_macro")}}
            per_image[name] = dice_per_image(predictions.labels, truth)
        elif all(s.mask is not None for s in answers.samples):
            masks = predictions.label_masks()
            found[name] = {"label": b.label, **_mask_summary(masks, answers)}
            per_image[name] = image_confusions(masks, answers)
        if name in found:
            found[name] |= baseline_facts(baseline, name, b.model, run_info, out)
    return found, per_image


def _mask_summary(masks: list[np.ndarray], answers: ImageSet) -> dict:
    truths = [s.mask for s in answers.samples]
    m = segmentation_metrics(masks, truths, answers.num_classes, answers.has_background)
    return {k: m[k] for k in ("mIoU", "kaggle_dice", "pixel_accuracy")}


def image_confusions(masks: list[np.ndarray], answers: ImageSet) -> np.ndarray:
    """N x L x L pixel confusion of each image's label mask against its true mask."""
    labels = answers.num_classes + 1
    return np.stack(
        [
            confusion_matrix(np.clip(m, 0, labels - 1), s.mask, labels)
            for m, s in zip(masks, answers.samples, strict=True)
        ]
    )


def inference_views(
    info: RunInfo, models: TrainedModels, answers: ImageSet, full: list, full_dice: np.ndarray
) -> tuple[dict, dict]:
    """The segmenter's scores on `answers` in one view without the CRF, with the config's
    TTA without the CRF, and as predicted (`full`, vocvision's labels, whose per-image Dice
    is `full_dice`), where they differ, each with what it `adds` to the one before (words
    for the report); and each view's per-image Kaggle Dice."""
    task, model = models.segmentation, models.segmenter.model
    run_views = Views.of(info.config.segmenter)
    augmented = replace(run_views, crf=False)
    pixels = [s.image for s in answers.samples]
    masks, adds = {}, {}
    tta = augmented != Views()
    words = f"test-time augmentation ({augmented.describe()})"
    if tta or run_views.crf:
        masks["one view"] = task.predict(model, pixels, tta=False, crf=False)
    if run_views.crf and tta:
        masks[augmented.describe()] = task.predict(model, pixels, crf=False)
        adds[augmented.describe()] = words
    if masks:
        name = run_views.describe()
        masks[name], adds[name] = full, "dense CRF" if run_views.crf else words
    views = {
        name: _mask_summary(m, answers) | ({"adds": adds[name]} if name in adds else {})
        for name, m in masks.items()
    }
    dice = {name: full_dice if m is full else image_dice(m, answers) for name, m in masks.items()}
    return views, dice


def at_half(probabilities: np.ndarray, rule: LabellingRule) -> np.ndarray:
    """The labels of the classifier's probabilities alone at 0.5 (the untuned rule)."""
    return LabellingRule(0.5, at_least_one=rule.at_least_one).labels(probabilities)

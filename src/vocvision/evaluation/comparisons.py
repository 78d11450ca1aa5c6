"""What each improvement bought, measured on the same answered images: the from-scratch
baselines, the test-time augmentation and CRF, the tuned labelling."""

from __future__ import annotations

import numpy as np

from ..data import ImageSet
from ..inference import LabellingRule
from ..metrics import classification_metrics, dice_per_image, segmentation_metrics
from ..runfolder import RunFolder, RunInfo
from ..workflow.baselines import BASELINES
from ..workflow.models import TrainedModels, load_models
from ..workflow.predicting import predict_images


def baseline_scores(folder: RunFolder, answers: ImageSet) -> dict:
    """The summary metrics of each trained baseline (RUN/baselines/<model>) on `answers`."""
    found = {}
    for name, (label, _) in BASELINES.items():
        baseline = RunFolder(folder.layout.baseline(name))
        if not baseline.is_run():
            continue
        info = baseline.read_info()
        models = load_models(baseline, info)
        if name not in models:
            continue
        predictions = predict_images(models, answers, info)
        if name == "classifier":
            truth = answers.label_matrix()
            m = classification_metrics(predictions.scores, truth, predictions.labels)
            found[name] = {"label": label, **{k: m[k] for k in ("dice", "mAP", "f1_macro")}}
        elif all(s.mask is not None for s in answers.samples):
            found[name] = {"label": label, **_mask_summary(predictions.label_masks(), answers)}
    return found


def _mask_summary(masks: list[np.ndarray], answers: ImageSet) -> dict:
    truths = [s.mask for s in answers.samples]
    m = segmentation_metrics(masks, truths, answers.num_classes, answers.has_background)
    return {k: m[k] for k in ("mIoU", "kaggle_dice", "pixel_accuracy")}


def inference_views(info: RunInfo, models: TrainedModels, answers: ImageSet, full: list) -> dict:
    """The segmenter's scores on `answers` in one view without the CRF, with the config's
    TTA without the CRF, and as predicted (`full`, vocvision's labels), where they differ."""
    task, model = models.segmentation, models.segmenter.model
    c = info.config.segmenter
    pixels = [s.image for s in answers.samples]
    views = {}
    if c.tta_flip or len(c.tta_scales) > 1 or c.crf:
        views["one view"] = _mask_summary(
            task.predict(model, pixels, tta=False, crf=False), answers
        )
    if c.crf and (c.tta_flip or len(c.tta_scales) > 1):
        views["flip + scales"] = _mask_summary(task.predict(model, pixels, crf=False), answers)
    if views:
        tta = "flip + scales" if c.tta_flip or len(c.tta_scales) > 1 else "one view"
        views[tta + (" + CRF" if c.crf else "")] = _mask_summary(full, answers)
    return views


def dice_at_half(probabilities: np.ndarray, truth: np.ndarray, rule: LabellingRule) -> float:
    """Per-image Dice of the classifier's probabilities alone at 0.5 (the untuned rule)."""
    plain = LabellingRule(0.5, at_least_one=rule.at_least_one)
    return float(dice_per_image(plain.labels(probabilities), truth).mean())

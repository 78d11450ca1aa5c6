"""The evaluation step: everything the report shows, measured once and saved in the run.

It scores the test split when its answers are known (a Kaggle folder's truth/, or a VOC/COCO
test split with masks) and otherwise the run's validation part of train (the competition's
own case, where the test answers are hidden), and says which. It writes
`evaluation/evaluation.json` and `evaluation/figures/*.png`, each figure with its caption;
the report and the notebook only read them.
"""

from __future__ import annotations

import numpy as np

from .. import figures
from ..data import ImageSet, read_answered_split, read_split
from ..metrics import dice_per_image
from ..runfolder import Evaluation, Predictions, RunFolder, RunInfo
from ..workflow.baselines import BASELINES
from ..workflow.run_models import TrainedModels
from ..workflow.run_predictions import predict_images
from ..workflow.run_splits import read_run_split
from .comparisons import (
    at_half,
    baseline_scores,
    image_confusions,
    inference_views,
)
from .examples import varied
from .intervals import classification_noise, score_intervals, segmentation_noise
from .label_report import classification_scores
from .mask_report import segmentation_scores
from .overview import data_overview, training_summary

__all__ = ["evaluate", "score_intervals"]


def evaluate(
    folder: RunFolder,
    info: RunInfo,
    models: TrainedModels,
    baselines: dict[str, TrainedModels] | None = None,
) -> Evaluation:
    """Measure the run (see the module doc), save and return the evaluation; `baselines`
    are baseline models already loaded, by model name (the others are read from disk)."""
    out = figures.FigureFolder(folder.layout.evaluation_dir / "figures")
    train = read_split(info.data_dir, info.train_split)
    test = read_split(info.data_dir, info.test_split)
    answers, predictions, where = _answered(folder, info, models, test)
    found, baseline = baseline_scores(folder, answers, baselines, info, out)
    classification = segmentation = None
    comparisons: dict = {}
    if models.classifier:
        truth = answers.label_matrix()
        rule = models.classification.rule
        classification = classification_scores(predictions, truth, rule, where, out)
        half = at_half(predictions.probabilities, rule)
        classification["dice_at_half"] = float(dice_per_image(half, truth).mean())
        classification["intervals"], found_comparisons = classification_noise(
            predictions.labels, half, truth, baseline.get("classifier")
        )
        comparisons |= found_comparisons
    if predictions.masks and all(s.mask is not None for s in answers.samples):
        masks = predictions.label_masks()
        segmentation = segmentation_scores(masks, answers, where, out)
        dice = np.array(list(segmentation["image_dice"].values()))
        segmentation["views"], view_dice = inference_views(info, models, answers, masks, dice)
        segmentation["intervals"], found_comparisons = segmentation_noise(
            image_confusions(masks, answers),
            dice,
            info.has_background,
            view_dice,
            {name: b for name, b in baseline.items() if BASELINES[name].model == "segmenter"},
        )
        comparisons |= found_comparisons
    _examples(folder, info, test, out)
    evaluation = Evaluation(
        split=where,
        data=data_overview(info, train, len(test), out),
        training=training_summary(folder, info, models, out),
        labelling=models.classification.rule.to_dict() if models.classifier else None,
        classification=classification,
        segmentation=segmentation,
        figures=out.captions,
        baselines=found,
        comparisons=comparisons,
        images=len(answers),
    )
    folder.write_evaluation(evaluation)
    return evaluation


def _answered(
    folder: RunFolder, info: RunInfo, models: TrainedModels, test: ImageSet
) -> tuple[ImageSet, Predictions, str]:
    """(images with answers, their predictions, what they are in words): the test split
    when its answers are known, else the validation part of train."""
    answers = read_answered_split(info.data_dir, info.test_split)
    if answers is not None:
        path = folder.layout.predictions("test")
        saved = folder.read_predictions(path) if path.is_file() else None
        if saved is None or saved.ids != answers.ids:
            saved = predict_images(models, test, info)
        return answers, saved, f"test split ({len(answers)} images)"
    val = read_run_split(info, "val")
    where = f"validation part of train ({len(val)} images; the test answers are hidden)"
    return val, predict_images(models, val, info), where


def _examples(folder: RunFolder, info: RunInfo, test: ImageSet, out) -> None:
    """Test predictions of varied images (covering many predicted classes)."""
    path = folder.layout.predictions("test")
    if not path.is_file():
        return
    predictions = folder.read_predictions(path)
    if predictions.ids != test.ids:
        return
    masks = predictions.label_masks()
    rows = []
    for i in varied(predictions.labels, 6):
        sample = test.samples[i]
        panels = [sample.image] + ([figures.overlay(sample.image, masks[i])] if masks else [])
        text = ", ".join(predictions.label_names(i)) or "-"
        rows.append((f"{sample.id}\npredicted: {text}"[:60], panels))
    titles = ["image", "prediction"][: len(rows[0][1])]
    out.save(
        "test_predictions",
        figures.image_grid(rows, titles, info.classes),
        "Predictions on test images chosen to show many predicted classes: the labels "
        "(left) and the mask.",
    )

"""Classification ablations: what pretraining, the loss, thresholds, TTA and fusion buy.

Two protocols, both on data the choices never saw:

- `holdout_study`: each variant is trained with `train_run` (classifier only) on the
  data folder's train split, which picks its threshold on its own inner validation split;
  it is scored on the test split.
- `cross_validation_study`: frozen-backbone features once, then multilabel-stratified K-fold
  heads; every image is scored by the head that did not see it, and every threshold rule is
  cross-fitted (chosen on the other folds' predictions).

Both write their rows into the run folder's study (`RunFolder.write_study`); the report
turns them into sentences.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import ClassifierConfig, RunConfig
from ..data import ImageSet, read_answered_split, read_split
from ..data.splits import stratified_folds
from ..errors import RunFolderError
from ..inference import cross_fitted_labels, per_class_thresholds
from ..inference.thresholds import best_global_threshold
from ..metrics import classification_metrics
from ..models.probe import ProbeClassifier
from ..runfolder import RunFolder, StudySection
from ..training.probe_fitting import cross_validate_heads, extract_features, head_probabilities
from .baselines import SCRATCH_CLASSIFIER
from .label_choice import choose_labelling
from .run_models import load_models, with_rule
from .run_predictions import predict_images
from .run_splits import default_splits, read_run_split
from .train_run import train_run

log = logging.getLogger(__name__)


@dataclass
class Variant:
    """One ablation: classifier and run settings on top of the defaults."""

    name: str
    label: str
    classifier: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    needs_segmenter: bool = False

    def config(self, seed: int) -> RunConfig:
        config = RunConfig(seed=seed)
        for key, value in self.classifier.items():
            setattr(config.classifier, key, value)
        for key, value in self.run.items():
            setattr(config, key, value)
        return config


# Fine-tuned variants keep the plain recipe of issue #2 (BCE, no TTA) for comparability.
FINETUNE = {"method": "finetune", "image_size": 224, "loss": "bce", "tta_flip": False}
HOLDOUT_VARIANTS = (
    Variant("scratch", "scratch CNN, 25 epochs", SCRATCH_CLASSIFIER),
    Variant("finetune", "Lite0 fine-tuned, BCE", FINETUNE),
    Variant(
        "finetune_2stage",
        "Lite0 fine-tuned after 2 frozen-backbone epochs",
        {**FINETUNE, "freeze_epochs": 2},
    ),
    Variant("probe", "Lite0 frozen probe (default: weighted BCE, flip TTA, >= 1 label)"),
    Variant("probe_bce", "probe, plain BCE", {"loss": "bce"}),
    Variant("probe_asl", "probe, ASL", {"loss": "asl"}),
    Variant("probe_per_class", "probe + per-class thresholds", {"per_class_thresholds": True}),
    Variant("probe_no_min_label", "probe without the at-least-one rule", {"at_least_one": False}),
    Variant("probe_no_tta", "probe without TTA", {"tta_flip": False}),
    Variant("probe_multiscale", "probe + 3-scale TTA", {"tta_scales": (0.875, 1.0, 1.125)}),
    Variant("probe_fusion", "probe + segmenter fusion", needs_segmenter=True),
)


def _labelled_test_split(data_dir: str | Path) -> ImageSet:
    test = read_answered_split(data_dir, default_splits(data_dir)[1])
    if test is None:
        raise RunFolderError(f"{data_dir}: the test split has no labels to score against")
    return test


def _attach_segmenter(variant: RunFolder, segmenter_run: RunFolder) -> None:
    """Use the segmenter of `segmenter_run` (trained on the same inner split) in `variant`."""
    ours, theirs = variant.read_info(), segmenter_run.read_info()
    if ours.train_ids != theirs.train_ids:
        raise RunFolderError(
            f"{segmenter_run.root}: its segmenter was trained on other images than "
            f"{variant.root}; train it on the same data folder with the same seed"
        )
    target = variant.model("segmenter").root
    if target.exists():
        shutil.rmtree(target)
    source = segmenter_run.model("segmenter")
    target.mkdir(parents=True)
    for path in (source.weights, source.config):
        shutil.copy2(path, target / path.name)


def holdout_study(
    data_dir: str | Path,
    folder: RunFolder,
    variants: tuple[Variant, ...] = HOLDOUT_VARIANTS,
    seed: int = 0,
    segmenter_run: str | Path | None = None,
    progress: bool = False,
) -> list[dict]:
    """Train every variant on the train split (into `folder`'s study folder) and score it on
    the test split; one row each. Variants needing a segmenter are skipped without
    `segmenter_run`."""
    test = _labelled_test_split(data_dir)
    truth = test.label_matrix()
    rows = []
    for variant in variants:
        if variant.needs_segmenter and segmenter_run is None:
            log.info("%s: skipped (needs --segmenter-run)", variant.name)
            continue
        run = RunFolder(folder.layout.study_dir / variant.name)
        started = time.perf_counter()
        info = train_run(
            data_dir, run.root, variant.config(seed), ("classifier",), progress=progress
        )
        train_s = time.perf_counter() - started
        if variant.needs_segmenter:
            _attach_segmenter(run, RunFolder(segmenter_run))
        models = load_models(run, info)
        rule = choose_labelling(run, info, models, read_run_split(info, "val"))
        models = with_rule(models, info, rule)
        started = time.perf_counter()
        predictions = predict_images(models, test, info)
        predict_s = time.perf_counter() - started
        metrics = classification_metrics(predictions.scores, truth, predictions.labels)
        rule = models.classification.rule
        rows.append(
            {
                "name": variant.name,
                "label": variant.label,
                **metrics,
                "train_s": train_s,
                "predict_s": predict_s,
                "fusion": rule.fusion_area_scale,
            }
        )
        log.info("%s: dice %.4f mAP %.4f", variant.name, metrics["dice"], metrics["mAP"])
    _save(folder, "holdout", rows, data_dir, test)
    return rows


def cross_validation_study(
    data_dir: str | Path,
    split: str,
    folder: RunFolder,
    folds: int = 5,
    seed: int = 0,
    losses: tuple[str, ...] = ("bce", "asl", "weighted_bce"),
    classifier: ClassifierConfig | None = None,
) -> list[dict]:
    """K-fold frozen-probe study on one split: one row per (loss, threshold rule, TTA).
    `classifier` (default: the default config) sets the backbone, size and views."""
    images = read_split(data_dir, split)
    labels = images.label_matrix()
    base = classifier or ClassifierConfig()
    started = time.perf_counter()
    model = ProbeClassifier(images.num_classes, base.backbone, base.pretrained, num_heads=folds)
    features = extract_features(
        model,
        [s.image for s in images.samples],
        base.image_size,
        base.probe_views,
        base.min_crop_scale,
        seed,
    )
    features_s = time.perf_counter() - started
    fold_sets = stratified_folds(labels, folds, seed)
    rules = {
        "global threshold": (best_global_threshold, False),
        "per-class thresholds": (per_class_thresholds, False),
        "global + at least one": (best_global_threshold, True),
    }
    rows = []
    for loss in losses:
        config = dataclasses.replace(base, loss=loss, folds=folds)
        started = time.perf_counter()
        heads, oof, used_folds = cross_validate_heads(features, labels, config, seed)
        heads_s = time.perf_counter() - started
        flipped = np.zeros_like(oof)
        for head, held in zip(heads, used_folds, strict=True):
            flipped[held] = head_probabilities(head, features[1, held])
        for tta, scores in (("none", oof), ("flip", (oof + flipped) / 2)):
            for rule, (choose, at_least_one) in rules.items():
                predicted = cross_fitted_labels(scores, labels, fold_sets, choose, at_least_one)
                rows.append(
                    {
                        "name": f"{loss} | {rule} | tta {tta}",
                        "loss": loss,
                        "rule": rule,
                        "tta": tta,
                        **classification_metrics(scores, labels, predicted),
                        "features_s": features_s,
                        "heads_s": heads_s,
                    }
                )
    _save(folder, "cross_validation", rows, data_dir, images, folds=folds, split=split)
    return rows


def _save(folder: RunFolder, protocol: str, rows: list[dict], data_dir, images, **extra) -> None:
    sections = folder.read_study()
    sections[protocol] = StudySection(
        str(Path(data_dir).resolve()), len(images), images.classes, rows, **extra
    )
    folder.write_study(sections)


def study(
    data: str | Path,
    out: str | Path,
    holdout: bool = True,
    cv_split: str | None = None,
    folds: int = 5,
    segmenter_run: str | Path | None = None,
    seed: int = 0,
) -> dict[str, StudySection]:
    """The classification ablations on `data` into the run folder `out` (its study/, which
    its report shows): with `holdout`, each variant (scratch, probe, fine-tune, losses,
    thresholds, TTA, fusion with `segmenter_run`'s segmenter) trained on train and scored
    on the labelled test split (minutes); with `cv_split`, a `folds`-fold frozen-probe
    study on that split (seconds). Returns the study's sections by protocol."""
    folder = RunFolder(out)
    if holdout:
        holdout_study(data, folder, seed=seed, segmenter_run=segmenter_run)
    if cv_split:
        cross_validation_study(data, cv_split, folder, folds, seed)
    return folder.read_study()

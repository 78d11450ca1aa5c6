"""Classification ablations: what pretraining, the loss, thresholds, TTA and fusion buy.

Two protocols, both on data the choices never saw:

- `holdout_study`: each variant is trained with `pipeline.train` (classifier only) on the
  data folder's train split, which picks its threshold on its own inner validation split;
  it is scored on the test split.
- `cross_validation_study`: frozen-backbone features once, then multilabel-stratified K-fold
  heads; every image is scored by the head that did not see it, and every threshold rule is
  cross-fitted (chosen on the other folds' predictions).

`discussion` turns the rows into the sentences the report prints.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import ClassifierConfig, RunConfig
from .data import ImageSet, read_answered_split, read_split
from .data.splits import stratified_folds
from .fileio import write_json
from .inference import cross_fitted_labels, per_class_thresholds
from .inference.thresholds import best_global_threshold
from .metrics import classification_metrics
from .models.probe import ProbeClassifier
from .training.probe import cross_validate_heads, extract_features, head_probabilities

log = logging.getLogger(__name__)
STUDY_FILE = "classification_study.json"


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
SCRATCH = {
    "method": "finetune",
    "loss": "bce",
    "tta_flip": False,
    "backbone": "vocvision_scratch_cnn",
    "pretrained": "none",
    "image_size": 160,
    "epochs": 25,
    "lr": 3e-3,
    "patience": 25,
}
FINETUNE = {"method": "finetune", "image_size": 224, "loss": "bce", "tta_flip": False}
HOLDOUT_VARIANTS = (
    Variant("scratch", "scratch CNN, 25 epochs", SCRATCH),
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
    from .pipeline import default_splits

    test = read_answered_split(data_dir, default_splits(data_dir)[1])
    if test is None:
        raise FileNotFoundError(f"{data_dir}: the test split has no labels to score against")
    return test


def _attach_segmenter(run_dir: Path, segmenter_run: Path) -> None:
    """Use the segmenter of `segmenter_run` (trained on the same inner split) in `run_dir`."""
    from .pipeline import read_run_info

    ours, theirs = read_run_info(run_dir), read_run_info(segmenter_run)
    if ours["train_ids"] != theirs["train_ids"]:
        raise ValueError(
            f"{segmenter_run}: its segmenter was trained on other images than {run_dir}; "
            "train it on the same data folder with the same seed"
        )
    target = run_dir / "segmenter"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(segmenter_run / "segmenter" / "checkpoints", target / "checkpoints")


def holdout_study(
    data_dir: str | Path,
    out_dir: str | Path,
    variants: tuple[Variant, ...] = HOLDOUT_VARIANTS,
    seed: int = 0,
    segmenter_run: str | Path | None = None,
    progress: bool = False,
) -> list[dict]:
    """Train every variant on the train split and score it on the test split; one row each.
    Variants that need a segmenter are skipped without `segmenter_run`."""
    from . import pipeline

    out_dir = Path(out_dir)
    test = _labelled_test_split(data_dir)
    truth = test.label_matrix()
    rows = []
    for variant in variants:
        if variant.needs_segmenter and segmenter_run is None:
            log.info("%s: skipped (needs --segmenter-run)", variant.name)
            continue
        run_dir = out_dir / variant.name
        started = time.perf_counter()
        pipeline.train(
            data_dir, run_dir, variant.config(seed), models=("classifier",), progress=progress
        )
        train_s = time.perf_counter() - started
        if variant.needs_segmenter:
            _attach_segmenter(run_dir, Path(segmenter_run))
            info = pipeline.read_run_info(run_dir)
            images = read_split(data_dir, info["train_split"])
            by_id = {s.id: i for i, s in enumerate(images.samples)}
            pipeline.tune_labelling(run_dir, images.subset([by_id[i] for i in info["val_ids"]]))
        started = time.perf_counter()
        predictions = pipeline.predict(run_dir, test)
        predict_s = time.perf_counter() - started
        rule = pipeline.labelling(run_dir)
        predicted = predictions.labels(rule["threshold"], rule["at_least_one"])
        metrics = classification_metrics(predictions.probabilities, truth, predicted)
        rows.append(
            {
                "name": variant.name,
                "label": variant.label,
                **metrics,
                "train_s": train_s,
                "predict_s": predict_s,
                "fusion": rule["fusion_area_scale"],
            }
        )
        log.info("%s: dice %.4f mAP %.4f", variant.name, metrics["dice"], metrics["mAP"])
    _save(out_dir, "holdout", rows, data_dir, test)
    return rows


def cross_validation_study(
    data_dir: str | Path,
    split: str,
    out_dir: str | Path,
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
    _save(Path(out_dir), "cross_validation", rows, data_dir, images, folds=folds, split=split)
    return rows


def _save(out_dir: Path, protocol: str, rows: list[dict], data_dir, images, **extra) -> None:
    path = out_dir / STUDY_FILE
    study = json.loads(path.read_text()) if path.is_file() else {}
    study[protocol] = {
        "data_dir": str(Path(data_dir).resolve()),
        "images": len(images),
        "classes": images.classes,
        "rows": rows,
        **extra,
    }
    write_json(path, study)


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rows}


def _compare(rows: dict, new: str, old: str, what: str) -> str | None:
    if new not in rows or old not in rows:
        return None
    gain = rows[new]["dice"] - rows[old]["dice"]
    verdict = "helped" if gain > 0.005 else "hurt" if gain < -0.005 else "made no real difference"
    return (
        f"{what} {verdict}: per-image Dice {rows[new]['dice']:.3f} vs {rows[old]['dice']:.3f} "
        f"({gain:+.3f})."
    )


def discussion(study: dict) -> list[str]:
    """Short sentences on what worked, computed from a study's rows (holdout first)."""
    lines = []
    if "holdout" in study:
        rows = _by_name(study["holdout"]["rows"])
        best = max(rows.values(), key=lambda r: r["dice"])
        lines.append(
            f"Best on the held-out split: {best['label']} (per-image Dice {best['dice']:.3f}, "
            f"mAP {best['mAP']:.3f}, trained in {best['train_s']:.0f} s)."
        )
        for new, old, what in (
            ("probe_no_tta", "scratch", "ImageNet pretraining (frozen probe vs scratch CNN)"),
            ("finetune", "probe_no_tta", "Fine-tuning the whole backbone instead of a probe"),
            ("finetune_2stage", "finetune", "Two-stage fine-tuning (head first)"),
            ("probe", "probe_bce", "Class-weighted BCE (instead of BCE)"),
            ("probe_asl", "probe_bce", "Asymmetric loss (instead of BCE)"),
            ("probe_per_class", "probe", "Per-class thresholds"),
            ("probe", "probe_no_min_label", "Forcing at least one label"),
            ("probe", "probe_no_tta", "Flip test-time augmentation"),
            ("probe_multiscale", "probe", "Adding scales to the test-time augmentation"),
            ("probe_fusion", "probe", "Fusing with the segmenter's class areas"),
        ):
            sentence = _compare(rows, new, old, what)
            if sentence:
                lines.append(sentence)
    if "cross_validation" in study:
        cv = study["cross_validation"]
        rows = cv["rows"]
        best = max(rows, key=lambda r: r["dice"])
        base = _by_name(rows).get("bce | global threshold | tta none")
        text = (
            f"{cv['folds']}-fold cross-validation on {cv['images']} images: best rule "
            f"'{best['name']}' with per-image Dice {best['dice']:.3f}"
        )
        if base:
            text += f" (BCE, one global threshold, no TTA: {base['dice']:.3f})"
        lines.append(text + ".")
    return lines

"""The whole job as a Python API: train -> predict -> submit -> score -> report.

Each step reads what the previous one wrote into the run folder, so every CLI command is a
thin call of one function here and a notebook can run any step on its own:

    run_dir/classifier/checkpoints/{best,last}.ckpt   + logs/, tensorboard/, run_config.json
    run_dir/segmenter/checkpoints/{best,last}.ckpt    + ...
    run_dir/run.json                                   data folder, splits, config
    run_dir/predictions/<split>.npz                    probabilities and full-size masks
    run_dir/submission.csv, run_dir/score.json, run_dir/report.html
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import RunConfig, SegmenterConfig
from .data import ImageSet, read_split, stratified_split, write_truth
from .data.coco import coco_split_files, is_coco_layout
from .data.kaggle import is_kaggle_layout
from .fileio import atomic_path, write_json
from .inference import (
    apply_thresholds,
    choose_labelling,
    class_areas,
    fuse,
    predict_masks,
    predict_probabilities,
)
from .submission import Score, score_submission, validate_submission, write_submission
from .training import fit_model, fit_probe, load_model, load_probe
from .training.probe import PROBE_FILE

log = logging.getLogger(__name__)
MODELS = ("classifier", "segmenter")
LABELLING_FILE = "labelling.json"


def default_splits(data_dir: str | Path) -> tuple[str, str]:
    """(train split, test split): Kaggle `train`/`test`; VOC and COCO `train`/`val` (or
    `test`)."""
    if is_kaggle_layout(data_dir):
        return "train", "test"
    if is_coco_layout(data_dir):
        return "train", "val" if coco_split_files(data_dir, "val") else "test"
    has_val = (Path(data_dir) / "ImageSets" / "Segmentation" / "val.txt").is_file()
    return "train", "val" if has_val else "test"


@dataclass
class Predictions:
    """Model outputs for one split: class probabilities and full-resolution masks."""

    ids: list[str]
    classes: list[str]
    probabilities: np.ndarray  # N x K
    masks: list[np.ndarray]  # H x W uint8 each, 0 = background

    def labels(self, threshold: float | list[float], at_least_one: bool = False) -> np.ndarray:
        """N x K labels: scores above the global or per-class threshold (see
        `inference.apply_thresholds`)."""
        return apply_thresholds(self.probabilities, np.asarray(threshold), at_least_one)

    def save(self, path: str | Path) -> None:
        arrays = {f"mask_{i}": m for i, m in enumerate(self.masks)}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                ids=np.array(self.ids),
                classes=np.array(self.classes),
                probabilities=self.probabilities,
                **arrays,
            )

    @classmethod
    def load(cls, path: str | Path) -> Predictions:
        with np.load(path, allow_pickle=False) as data:
            ids = data["ids"].tolist()
            return cls(
                ids,
                data["classes"].tolist(),
                data["probabilities"],
                [data[f"mask_{i}"] for i in range(len(ids))],
            )


def train(
    data_dir: str | Path,
    run_dir: str | Path,
    config: RunConfig | None = None,
    models: tuple[str, ...] = MODELS,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Train the chosen models on the train split of `data_dir`; returns best checkpoints."""
    config = (config or RunConfig()).validate()
    run_dir = Path(run_dir)
    train_split, test_split = default_splits(data_dir)
    images = read_split(data_dir, train_split)
    if config.max_train_images:
        images = images.subset(range(min(config.max_train_images, len(images))))
    train_set, val_set = stratified_split(images, config.val_fraction, config.seed)
    config = config.for_labels(images.binary, images.has_background)
    write_json(
        run_dir / "run.json",
        {
            "data_dir": str(Path(data_dir).resolve()),
            "train_split": train_split,
            "test_split": test_split,
            "classes": images.classes,
            "train_ids": train_set.ids,
            "val_ids": val_set.ids,
            "config": config.to_dict(),
        },
    )
    checkpoints = {}
    for kind in models:
        if kind == "segmenter" and any(s.mask is None for s in images.samples):
            raise ValueError(f"{data_dir}: the segmenter needs masks for every training image")
        started = time.perf_counter()
        if kind == "classifier" and config.classifier.method == "probe":
            checkpoints[kind] = fit_probe(train_set, config, run_dir / kind)
        else:
            checkpoints[kind] = fit_model(
                kind, train_set, val_set, config, run_dir / kind, resume, progress
            )
        log.info("%s trained in %.0f s", kind, time.perf_counter() - started)
    if (run_dir / "classifier" / "checkpoints").is_dir() and config.classifier.threshold is None:
        tune_labelling(run_dir, val_set)
    return checkpoints


def tune_labelling(run_dir: Path, val_set: ImageSet) -> dict:
    """Choose, on the validation split (never the test split), how image labels are made:
    the classifier alone or fused with the segmenter's class areas, and the threshold."""
    config = read_run_info(run_dir)["config"]
    probabilities, masks = _model_outputs(run_dir, val_set, fast=True, config=config)
    use_fusion = bool(masks) and config.get("label_fusion", True)
    areas = class_areas(masks, val_set.num_classes) if use_fusion else None
    c = config["classifier"]
    choice = choose_labelling(
        probabilities,
        areas,
        val_set.label_matrix(),
        per_class=c.get("per_class_thresholds", False),
        at_least_one=c.get("at_least_one", False),
    )
    write_json(
        run_dir / "classifier" / LABELLING_FILE,
        {**choice, "chosen_on": "validation split", "val_images": len(val_set)},
    )
    return choice


def load_run_models(run_dir: str | Path, config: dict | None = None) -> dict[str, tuple]:
    """{kind: (model, hparams)} for every model trained in `run_dir`. The classifier is
    the one of the run's configured method, so a stale file of the other method is ignored.
    `config` is the run's saved config when the caller has already read it."""
    config = config or read_run_info(run_dir)["config"]
    method = config["classifier"].get("method", "finetune")
    found = {}
    for kind in MODELS:
        probe = kind == "classifier" and method == "probe"
        names = (PROBE_FILE,) if probe else ("best.ckpt", "last.ckpt")
        ckpt_dir = Path(run_dir) / kind / "checkpoints"
        path = next((ckpt_dir / n for n in names if (ckpt_dir / n).is_file()), None)
        if path is not None:
            found[kind] = load_probe(path) if probe else load_model(path, kind)
    if not found:
        raise FileNotFoundError(
            f"{run_dir}: no trained model (expected <kind>/checkpoints/best.ckpt or probe.pt)"
        )
    return found


def _model_outputs(
    run_dir: str | Path,
    images: ImageSet,
    fast: bool,
    config: dict,
    gate_threshold: float | list[float] | None = None,
    compile_model: bool = False,
    tta: bool = True,
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Raw classifier probabilities (None without a classifier) and masks (empty without a
    segmenter), with the test-time augmentation of the run's `config`, or one view per model
    without `tta`. With `gate_threshold`, masks only use classes the classifier puts above it."""
    models = load_run_models(run_dir, config)
    pixels = [s.image for s in images.samples]
    probabilities = None
    if "classifier" in models:
        model, hp = models["classifier"]
        probabilities = predict_probabilities(
            model,
            pixels,
            hp["image_size"],
            fast=fast,
            **_views(config["classifier"], tta),
            compile_model=compile_model,
        )
    masks = []
    if "segmenter" in models:
        allowed = None
        if gate_threshold is not None and probabilities is not None:
            allowed = probabilities > np.asarray(gate_threshold)
        model, hp = models["segmenter"]
        c = config["segmenter"]
        masks = predict_masks(
            model,
            pixels,
            fast=fast,
            allowed=allowed,
            **segmenter_views(c, tta),
            **segmenter_geometry(c, hp["image_size"]),
            compile_model=compile_model,
        )
    return probabilities, masks


def segmenter_geometry(segmenter_config: dict, image_size: int) -> dict:
    """`predict_masks`'s `size`, `square` and `tile` from a run's saved segmenter config and
    its model's training `image_size` (runs saved before these fields existed get the
    defaults)."""
    side = segmenter_config.get("inference_side")
    return {
        "size": image_size if side is None else side,
        "square": segmenter_config.get("inference_square", SegmenterConfig.inference_square),
        "tile": segmenter_config.get("tile_size", SegmenterConfig.tile_size),
    }


def segmenter_views(segmenter_config: dict, tta: bool = True) -> dict:
    """`predict_masks`'s `flip`, `scales` and `crf` from a run's saved segmenter config (runs
    saved before these fields existed predict one view, without the CRF); one view without
    `tta`, the CRF kept."""
    return {**_views(segmenter_config, tta), "crf": bool(segmenter_config.get("crf"))}


def _views(task_config: dict, tta: bool) -> dict:
    """The `flip` and `scales` of a run's saved classifier or segmenter config; one view
    without `tta` or in runs saved before these fields existed."""
    if not tta:
        return {"flip": False, "scales": (1.0,)}
    return {
        "flip": task_config.get("tta_flip", False),
        "scales": task_config.get("tta_scales", (1.0,)),
    }


def predict(
    run_dir: str | Path,
    images: ImageSet,
    fast: bool = True,
    gate: bool | None = None,
    compile_model: bool = False,
    tta: bool = True,
) -> Predictions:
    """Predict `images` with the run's classifier and segmenter.

    The label scores are the classifier's probabilities, fused with the predicted class areas
    when the validation split chose so (see `labelling`). With `gate` (default: the run's
    `gate_segmentation`; only without fusion, whose labels depend on the masks), each image's
    pixels may only take background or the classes the classifier predicts present. Without a
    classifier, labels are the classes present in the predicted masks. `compile_model` runs
    the models through `torch.compile` (see `predict_masks`); `tta=False` predicts one view
    per model instead of the run's test-time augmentation (about 6x faster segmentation with
    the default flip + 3 scales).
    """
    config = read_run_info(run_dir)["config"]
    rule = labelling(run_dir, config)
    if gate is None:
        gate = config.get("gate_segmentation", False)
    gate_threshold = rule["threshold"] if gate and rule["fusion_area_scale"] is None else None
    probabilities, masks = _model_outputs(
        run_dir, images, fast, config, gate_threshold, compile_model, tta
    )
    if probabilities is None:
        present = [np.isin(np.arange(1, images.num_classes + 1), m) for m in masks]
        probabilities = np.array(present, dtype=np.float32)
    elif rule["fusion_area_scale"] is not None and masks:
        areas = class_areas(masks, images.num_classes)
        probabilities = fuse(probabilities, areas, rule["fusion_area_scale"])
    return Predictions(images.ids, images.classes, probabilities, masks)


def predict_split(
    run_dir: str | Path,
    data_dir: str | Path | None = None,
    split: str | None = None,
    fast: bool = True,
    compile_model: bool = False,
    tta: bool = True,
) -> Path:
    """Predict a split (default: the run's test split) and save `predictions/<split>.npz`
    (`compile_model` and `tta` as in `predict`)."""
    meta = read_run_info(run_dir)
    data_dir = data_dir or meta["data_dir"]
    split = split or meta["test_split"]
    images = read_split(data_dir, split)
    predictions = predict(run_dir, images, fast, compile_model=compile_model, tta=tta)
    path = Path(run_dir) / "predictions" / f"{split}.npz"
    predictions.save(path)
    return path


def read_run_info(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a vocvision run folder (train first)")
    return json.loads(path.read_text())


def labelling(run_dir: str | Path, config: dict | None = None) -> dict:
    """How labels are made: {"threshold" (one, or a list with one per class),
    "fusion_area_scale", "at_least_one"}. A configured threshold wins (classifier alone),
    else the choice made on the validation split, else 0.5. `config` is the run's saved
    config when the caller has already read it."""
    config = config or read_run_info(run_dir)["config"]
    configured = config["classifier"]["threshold"]
    at_least_one = config["classifier"].get("at_least_one", False)
    chosen = Path(run_dir) / "classifier" / LABELLING_FILE
    if configured is None and chosen.is_file():
        rule = json.loads(chosen.read_text())
        return {
            "threshold": rule["threshold"],
            "fusion_area_scale": rule["fusion_area_scale"],
            "at_least_one": rule.get("at_least_one", at_least_one),
        }
    return {
        "threshold": 0.5 if configured is None else float(configured),
        "fusion_area_scale": None,
        "at_least_one": at_least_one,
    }


def submit(
    predictions: Predictions,
    out_csv: str | Path,
    threshold: float | list[float] = 0.5,
    at_least_one: bool = False,
) -> Path:
    """Write `submission.csv` and check it with the validator before returning."""
    if not predictions.masks:
        raise ValueError("a submission needs segmentation masks: train the segmenter too")
    write_submission(
        out_csv,
        predictions.ids,
        predictions.labels(threshold, at_least_one),
        predictions.masks,
        len(predictions.classes),
    )
    sizes = {
        i: (len(predictions.classes), len(predictions.classes) * m.size)
        for i, m in zip(predictions.ids, predictions.masks, strict=True)
    }
    problems = validate_submission(out_csv, predictions.ids, sizes)
    if problems:
        raise RuntimeError(f"{out_csv}: invalid submission: {'; '.join(problems[:3])}")
    return Path(out_csv)


@dataclass
class RunResult:
    run_dir: Path
    submission: Path
    report: Path
    score: Score | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def truth_for(data_dir: str | Path, test_split: str, run_dir: Path) -> Path | None:
    """The solution for the test split: a Kaggle folder's `truth/`, or written from VOC masks."""
    if is_kaggle_layout(data_dir):
        truth = Path(data_dir) / "truth"
        return truth if (truth / "solution.csv").is_file() else None
    test = read_split(data_dir, test_split)
    if any(s.mask is None for s in test.samples):
        return None
    return write_truth(test, run_dir)


def run(
    data_dir: str | Path,
    run_dir: str | Path,
    config: RunConfig | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RunResult:
    """The one-command job: train both models, predict the test split, write and score the
    submission (when the truth is known) and the HTML report."""
    from .report import write_report

    run_dir = Path(run_dir)
    seconds = {}
    started = time.perf_counter()
    train(data_dir, run_dir, config, resume=resume, progress=progress)
    seconds["train"] = time.perf_counter() - started
    started = time.perf_counter()
    predictions = Predictions.load(predict_split(run_dir))
    seconds["predict"] = time.perf_counter() - started
    rule = labelling(run_dir)
    submission = submit(
        predictions, run_dir / "submission.csv", rule["threshold"], rule["at_least_one"]
    )
    truth = truth_for(data_dir, read_run_info(run_dir)["test_split"], run_dir)
    score = score_submission(submission, truth) if truth else None
    if score:
        write_json(run_dir / "score.json", {**score.as_dict(), "seconds": seconds})
    report = write_report(run_dir)
    return RunResult(run_dir, submission, report, score, seconds)

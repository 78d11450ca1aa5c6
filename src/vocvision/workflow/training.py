"""Training a run: check the inputs, split, settle the config, fit the models, choose the
labelling on the validation part, describe the run in run.json."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import lightning as L

from ..config import RunConfig
from ..data import DataError, ImageSet, read_split, stratified_split
from ..layout import MODEL_NAMES
from ..runfolder import RunFolder, RunInfo
from ..training import fit_model, fit_probe
from .data import default_splits
from .labelling import tune_labelling
from .models import load_models, make_task

log = logging.getLogger(__name__)


def train_run(
    data_dir: str | Path,
    root: str | Path,
    config: RunConfig | None = None,
    models: tuple[str, ...] = MODEL_NAMES,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> RunInfo:
    """Train `models` on the train split of `data_dir` into the run folder `root`; returns
    the run's description (also saved as run.json). `callbacks` go to Lightning (e.g. a
    time budget, a progress display)."""
    config = (config or RunConfig()).validate()
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise DataError(f"models to train must be among {MODEL_NAMES}, got {list(models)}")
    folder = RunFolder(root)
    train_split, test_split = default_splits(data_dir)
    images = read_split(data_dir, train_split)
    check_trainable(images, models, Path(data_dir))
    if config.max_train_images:
        images = images.subset(range(min(config.max_train_images, len(images))))
    train_set, val_set = stratified_split(images, config.val_fraction, config.seed)
    config = config.for_labels(images.binary, images.has_background)
    info = RunInfo(
        Path(data_dir).resolve(),
        train_split,
        test_split,
        list(images.classes),
        images.has_background,
        images.coding,
        train_set.ids,
        val_set.ids,
        _with_kept_sections(config, folder, models, train_set.ids),
    )
    for name in models:
        started = time.perf_counter()
        task = make_task(info, name)
        layout = folder.model(name)
        if task.trains_with_lightning:
            fit_model(task, train_set, val_set, info.config, layout, resume, progress, callbacks)
        else:
            fit_probe(task, train_set, layout, info.config.seed)
        log.info("%s trained in %.0f s", name, time.perf_counter() - started)
    folder.write_info(info)
    if "classifier" in models:
        folder.clear_labelling()
    trained = load_models(folder, info)
    if trained.classifier and info.config.classifier.threshold is None:
        tune_labelling(folder, info, trained, val_set)
    return info


def check_trainable(images: ImageSet, models: tuple[str, ...], source: Path) -> None:
    """Everything the training of `models` needs from the training split, checked before
    any work: labels for every image, masks for the segmenter, enough images to split."""
    if len(images) < 4:
        raise DataError(f"{source}: {len(images)} training images; need at least 4 to split")
    if any(s.labels is None for s in images.samples):
        missing = next(s.id for s in images.samples if s.labels is None)
        raise DataError(f"{source}: training image {missing} has no labels")
    if "segmenter" in models and any(s.mask is None for s in images.samples):
        missing = next(s.id for s in images.samples if s.mask is None)
        raise DataError(
            f"{source}: the segmenter needs a mask for every training image; {missing} has none"
        )


def _with_kept_sections(
    config: RunConfig, folder: RunFolder, models: tuple[str, ...], train_ids: list[str]
) -> RunConfig:
    """`config`, with the sections of models already in the run that are not retrained taken
    from the run (they were trained with those), when the run used the same images."""
    if not folder.is_run():
        return config
    previous = folder.read_info()
    if previous.train_ids != train_ids:
        return config
    kept = {
        name: previous.config.task(name)
        for name in MODEL_NAMES
        if name not in models and folder.model(name).weights.is_file()
    }
    return dataclasses.replace(config, **kept)

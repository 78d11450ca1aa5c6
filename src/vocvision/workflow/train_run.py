"""Training a run: check the inputs, split, settle the config, fit the models, describe the
run in run.json. (The labelling is chosen after, with every model in place: `Run`.)"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import lightning as L

from ..config import RunConfig
from ..data import DataError, ImageSet, image_groups, read_split, stratified_split
from ..fileio import ensure_writable
from ..layout import MODEL_NAMES, ModelLayout
from ..models import PretrainedWeightsError, check_weights_source
from ..runfolder import RunFolder, RunInfo
from ..training import fit_model, fit_probe, fresh_budgets, is_worker_process, read_checkpoint
from ..training.self_training import FIRST_TRAINING_SHARE, self_train
from .run_models import make_task
from .run_splits import default_splits

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
    time budget, a progress display).

    Every input is checked before any work. Models train in staging folders
    (`RUN/.<model>.training/`) that replace the run's only once all of them are trained, so a
    failure leaves the previous run as it was; `resume` continues from the staging folder's
    last.ckpt (an interrupted training) or the run's own. In the other processes of a DDP
    training (`is_worker_process`) only the Lightning fits run: the main process writes."""
    config = (config or RunConfig()).validate()
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise DataError(f"models to train must be among {MODEL_NAMES}, got {list(models)}")
    folder = RunFolder(root)
    if Path(root).resolve() == Path(data_dir).resolve():
        raise DataError(f"{root}: the run folder would be the data folder; give --out another")
    info, train_set, val_set = _describe(data_dir, folder, config, models)
    unlabelled = _self_training_images(data_dir, info, models)
    worker = is_worker_process()
    if worker:  # the main process prepared the staging folders before its first fit
        staged = {name: _staging_layout(folder, name) for name in models}
    else:
        ensure_writable(folder.root)
        staged = {name: _staging(folder, name, resume) for name in models}
    for name in models:
        started = time.perf_counter()
        task = make_task(info, name)
        if task.trains_with_lightning:
            self_training = unlabelled is not None and name == "segmenter"
            share = FIRST_TRAINING_SHARE if self_training else 1.0
            fit_model(task, train_set, val_set, info.config, staged[name], resume, progress,
                      fresh_budgets(callbacks, share))  # fmt: skip
            if self_training and not worker:  # (self_train refuses DDP: no worker gets here)
                self_train(task, train_set, val_set, unlabelled, info.config, staged[name],
                           progress, fresh_budgets(callbacks, since=started))  # fmt: skip
        elif not worker:
            groups = image_groups(train_set.ids, info.config.group_pattern)
            fit_probe(task, train_set, staged[name], info.config.seed, groups)
        log.info("%s trained in %.0f s", name, time.perf_counter() - started)
    if worker:
        return info
    _swap_in(folder, staged)
    folder.write_info(info)
    return info


def _describe(
    data_dir: str | Path, folder: RunFolder, config: RunConfig, models: tuple[str, ...]
) -> tuple[RunInfo, ImageSet, ImageSet]:
    """The run's description and its training and validation parts, every input the
    training needs checked first."""
    train_split, test_split = default_splits(data_dir)
    images = read_split(data_dir, train_split)
    if config.max_train_images:
        images = images.subset(range(min(config.max_train_images, len(images))))
    check_trainable(images, models, Path(data_dir))
    groups = image_groups(images.ids, config.group_pattern)
    train_set, val_set = stratified_split(images, config.val_fraction, config.seed, groups)
    config = config.for_labels(images.binary, images.has_background)
    for name in models:
        try:
            check_weights_source(config.task(name).backbone, config.task(name).pretrained)
        except PretrainedWeightsError as err:
            raise PretrainedWeightsError(f"{name}: {err}") from err
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
    return info, train_set, val_set


def _self_training_images(
    data_dir: str | Path, info: RunInfo, models: tuple[str, ...]
) -> ImageSet | None:
    """The test images a self-trained segmenter pseudo-labels (None without self_train),
    read before any training so that a missing split is named first."""
    if "segmenter" not in models or not info.config.segmenter.self_train:
        return None
    try:
        images = read_split(data_dir, info.test_split)
    except DataError as err:
        raise DataError(f"segmenter.self_train needs the test images: {err}") from None
    if not len(images):
        raise DataError(f"{data_dir}: segmenter.self_train needs test images; split "
                        f"'{info.test_split}' has none")  # fmt: skip
    return images


def _staging_layout(folder: RunFolder, name: str) -> ModelLayout:
    return ModelLayout(folder.root / f".{name}.training")


def _staging(folder: RunFolder, name: str, resume: bool) -> ModelLayout:
    """The staging folder of model `name`: kept when resuming an interrupted training, seeded
    with the run's own last checkpoint and log when resuming a finished one, else empty."""
    live, staged = folder.model(name), _staging_layout(folder, name)
    if resume and staged.last_checkpoint.is_file():
        return staged
    if staged.root.exists():
        shutil.rmtree(staged.root)
    if resume and live.last_checkpoint.is_file():
        read_checkpoint(live.last_checkpoint)  # a broken one is named before any work
        staged.checkpoints.mkdir(parents=True)
        shutil.copy2(live.last_checkpoint, staged.last_checkpoint)
        if live.metrics_csv.is_file():
            staged.logs.mkdir(parents=True)
            shutil.copy2(live.metrics_csv, staged.metrics_csv)
    return staged


def _swap_in(folder: RunFolder, staged: dict[str, ModelLayout]) -> None:
    """Put the trained models in place of the run's (the old folders go only after)."""
    for name, layout in staged.items():
        live = folder.model(name).root
        old = folder.root / f".{name}.old"
        if old.exists():
            shutil.rmtree(old)
        if live.exists():
            live.rename(old)
        layout.root.rename(live)
        if old.exists():
            shutil.rmtree(old)


def check_trainable(images: ImageSet, models: tuple[str, ...], source: Path) -> None:
    """Everything the training of `models` needs from the training split, checked before
    any work: labels for every image, masks for the segmenter, enough images to split."""
    if len(images) < 4:
        raise DataError(f"{source}: {len(images)} training images; need at least 4 to split")
    if any(s.labels is None for s in images.samples):
        missing = next(s for s in images.samples if s.labels is None)
        what = "no mask (so no labels)" if missing.mask is None else "no labels"
        raise DataError(f"{source}: training image {missing.id} has {what}")
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

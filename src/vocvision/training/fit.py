"""Training one model with Lightning: checkpoints, resume, early stopping, logs, seeding."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import nn

from ..config import RunConfig
from ..data.sample import ImageSet, is_binary
from ..fileio import write_json
from .data import ImageSetDataModule
from .losses import pixel_class_weights, positive_weights
from .tasks import ClassificationTask, SegmentationTask

log = logging.getLogger(__name__)
TASKS = {"classifier": ClassificationTask, "segmenter": SegmentationTask}
BEST, LAST = "best.ckpt", "last.ckpt"


def build_task(
    kind: str, classes: list[str], config: RunConfig, train: ImageSet | None = None
) -> L.LightningModule:
    """The Lightning task for `kind`, its hyper-parameters taken from `config`; the training
    images `train` weigh the classes of a 'weighted_bce' classifier or a class-weighted
    segmenter, and tell whether the data has a background class."""
    if kind not in TASKS:
        raise ValueError(f"unknown model kind '{kind}'; choose from {list(TASKS)}")
    background = True if train is None else train.has_background
    c = getattr(config.for_labels(is_binary(len(classes), background), background), kind)
    common = {
        "backbone": c.backbone,
        "pretrained": c.pretrained,
        "lr": c.lr,
        "backbone_lr_scale": c.backbone_lr_scale,
        "weight_decay": c.weight_decay,
        "image_size": c.image_size,
        "scheduler": c.scheduler,
        "restart_epochs": c.restart_epochs,
    }
    if kind == "classifier":
        return ClassificationTask(
            classes,
            threshold=0.5 if c.threshold is None else c.threshold,
            loss=c.loss,
            freeze_epochs=c.freeze_epochs,
            positive_weight=(
                None
                if train is None
                else positive_weights(torch.from_numpy(train.label_matrix())).tolist()
            ),
            **common,
        )
    class_weights = None
    if c.class_weighting == "inverse_sqrt" and train is not None:
        masks = [s.mask for s in train.samples if s.mask is not None]
        class_weights = pixel_class_weights(masks, len(classes) + 1).tolist()
    return SegmentationTask(
        classes,
        arch=c.arch,
        decoder_width=c.decoder_width,
        background=background,
        loss=c.loss,
        loss_weights=tuple(c.loss_weights),
        class_weights=class_weights,
        **common,
    )


def fit_model(
    kind: str,
    train: ImageSet,
    val: ImageSet,
    config: RunConfig,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train the `kind` model ('classifier' or 'segmenter') into `out_dir`; return the best
    checkpoint. With `resume`, training continues from `out_dir/checkpoints/last.ckpt`."""
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    config = config.for_labels(train.binary, train.has_background)
    task_config = getattr(config, kind)
    L.seed_everything(config.seed, workers=True, verbose=False)
    task = build_task(kind, train.classes, config, train)
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="best",
        monitor=task.monitor,
        mode="max",
        save_last=True,
        enable_version_counter=False,
    )
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=task_config.epochs,
        max_time=(
            None if task_config.max_minutes is None else {"minutes": task_config.max_minutes}
        ),
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        precision=config.precision,
        deterministic="warn",  # bit-exact on CPU; GPU kernels without a deterministic twin warn
        callbacks=[
            checkpoint,
            LearningRateMonitor(),
            EarlyStopping(task.monitor, mode="max", patience=task_config.patience),
        ],
        logger=[
            CSVLogger(out_dir, name="logs", version=""),
            TensorBoardLogger(out_dir, name="tensorboard", version=""),
        ],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=5,
    )
    write_json(
        out_dir / "run_config.json",
        {"model": kind, "classes": train.classes, "config": config.to_dict()},
    )
    datamodule = ImageSetDataModule(
        train,
        val,
        task_config.image_size,
        task_config.batch_size,
        config.num_workers,
        task_config.min_crop_scale,
        task_config.augment,
        task_config.max_crop_scale,
    )
    last = ckpt_dir / LAST
    if resume and not last.is_file():
        log.warning("%s: no checkpoint to resume from; training from the start", last)
    trainer.fit(task, datamodule=datamodule, ckpt_path=last if resume and last.is_file() else None)
    best = ckpt_dir / BEST
    return best if best.is_file() else last


def load_model(checkpoint: str | Path, kind: str) -> tuple[nn.Module, dict]:
    """The trained `nn.Module` (eval mode, CPU) and the task's hyper-parameters."""
    task = TASKS[kind].load_from_checkpoint(checkpoint, map_location="cpu", pretrained="none")
    return task.model.eval(), dict(task.hparams)

"""Training one model with Lightning: checkpoints, resume, early stopping, logs, seeding; the
best weights end up as a plain safetensors model file."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    EarlyStopping,
    EMAWeightAveraging,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

from ..config import RunConfig
from ..data.sample import ImageSet
from ..errors import VocvisionError
from ..layout import ModelLayout
from ..tasks import Task
from .checkpoints import AtomicCheckpointIO, ResumableCSVLogger, metrics_history, read_checkpoint
from .epoch_callbacks import EpochSeed
from .loaders import ImageSetDataModule
from .module import TaskModule

log = logging.getLogger(__name__)


def fit_model(
    task: Task,
    train: ImageSet,
    val: ImageSet,
    config: RunConfig,
    layout: ModelLayout,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[L.Callback] = (),
    start_from: nn.Module | None = None,
) -> bool:
    """Train `task`'s model on `train` (the best epoch by `task.monitor` on `val`) into
    `layout`: Lightning checkpoints (`last.ckpt` after every epoch, for `resume`), logs, and
    the best weights as `model.safetensors` + `config.json`. With `resume`, training goes on
    from `last.ckpt` and the log keeps the epochs already done. Returns whether this is the
    main process (under DDP only rank 0 goes on to write the run's files). `start_from` is a
    trained model to go on from (fine-tuning) instead of a new one."""
    L.seed_everything(config.seed, workers=True, verbose=False)
    c = task.config
    resume_from = layout.last_checkpoint if resume and layout.last_checkpoint.is_file() else None
    if resume and resume_from is None:
        log.warning("%s: no checkpoint to resume from; training from the start", layout.root)
    # last.ckpt is written at the end of an epoch: that epoch is done, its log rows stay.
    done_epochs = read_checkpoint(resume_from)["epoch"] + 1 if resume_from else 0
    model = task.build_model() if start_from is None else start_from
    module = TaskModule(task, model, task.training_loss(train))
    trainer = _trainer(task, config, layout, done_epochs, progress, callbacks)
    datamodule = ImageSetDataModule(train, val, c, config.num_workers, config.seed)
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    except OSError as err:
        if err.filename is not None or isinstance(err, VocvisionError):
            raise
        # A log write that failed (disk full, file-size limit) names no file: name the folder.
        raise OSError(err.errno, f"{err.strerror} (writing its logs)", str(layout.root)) from err
    if trainer.is_global_zero:
        chosen = layout.best_checkpoint
        state = read_checkpoint(chosen if chosen.is_file() else layout.last_checkpoint)
        prefix = "model."
        weights = {
            k[len(prefix) :]: v for k, v in state["state_dict"].items() if k.startswith(prefix)
        }
        model = module.model.cpu().to(memory_format=torch.contiguous_format)
        model.load_state_dict(weights)
        save_model(task, model, layout)
    return trainer.is_global_zero


def _trainer(
    task: Task,
    config: RunConfig,
    layout: ModelLayout,
    done_epochs: int,
    progress: bool,
    callbacks: Sequence[L.Callback],
) -> L.Trainer:
    """A Trainer with the best (by `task.monitor`) and last checkpoints, early stopping, and
    CSV (history of `done_epochs` kept) and TensorBoard logs in `layout`."""
    c = task.config
    best = ModelCheckpoint(
        dirpath=layout.checkpoints,
        filename=layout.best_checkpoint.stem,
        monitor=task.monitor,
        mode="max",
        enable_version_counter=False,
    )
    last = ModelCheckpoint(  # every epoch, whatever the metric did: what --resume needs
        dirpath=layout.checkpoints,
        filename=layout.last_checkpoint.stem,
        every_n_epochs=1,
        enable_version_counter=False,
    )
    history = metrics_history(layout.metrics_csv, done_epochs)
    # The average replaces the weights in validation and in the checkpoints' state_dict, so
    # the best epoch is chosen, and saved, by the averaged weights.
    averaging = [EMAWeightAveraging(decay=c.ema_decay)] if c.ema_decay > 0 else []
    return L.Trainer(
        default_root_dir=layout.root,
        max_epochs=c.epochs,
        max_time=None if c.max_minutes is None else {"minutes": c.max_minutes},
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        precision=training_precision(config),
        deterministic="warn",  # bit-exact on CPU; GPU kernels without a deterministic twin warn
        callbacks=[
            best,
            last,
            LearningRateMonitor(),
            EarlyStopping(task.monitor, mode="max", patience=c.patience),
            EpochSeed(config.seed),
            *averaging,
            *callbacks,
        ],
        logger=[
            ResumableCSVLogger(layout.root, name=layout.logs.name, version="", history=history),
            TensorBoardLogger(layout.root, name=layout.tensorboard.name, version=""),
        ],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=5,
    )


def training_precision(config: RunConfig) -> str:
    """The config's `precision`; "auto" is bf16 autocast where the hardware computes in bf16
    (CPUs with AVX512-BF16 or AMX, CUDA GPUs that support it), 16-bit autocast on other CUDA
    GPUs and float32 elsewhere. On this project's CPU bf16 with channels_last cut the
    segmenter's training step by a third (docs/benchmarks.md, training speed)."""
    if config.precision != "auto":
        return config.precision
    cuda = torch.cuda.is_available() and config.accelerator in ("auto", "gpu", "cuda")
    if cuda:
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    mps = config.accelerator in ("auto", "mps") and torch.backends.mps.is_available()
    if config.accelerator in ("auto", "cpu") and not mps:
        return "bf16-mixed" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "32-true"
    return "32-true"


def save_model(task: Task, model, layout: ModelLayout) -> None:
    """The trained `model` as `layout`'s safetensors file, with what inference needs to know."""
    model.save_pretrained(
        layout.root, task=task.name, classes=task.classes, image_size=task.input_size
    )

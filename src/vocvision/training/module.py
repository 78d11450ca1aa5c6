"""The one LightningModule: what a training and a validation step mean, asked of the task."""

from __future__ import annotations

import math
from dataclasses import asdict

import lightning as L
import torch
from torch import nn

from ..tasks import Task


def warmup_cosine(total_steps: int, warmup_fraction: float = 0.1):
    """Learning-rate factor per step: linear warm-up, then cosine decay to zero at
    `factor.schedule["total_steps"]`.

    A plain function (LambdaLR saves callable objects' state in checkpoints, not functions')
    so that a resumed run that asks for more epochs rebuilds it for the new total (only the
    step counter is restored); its `schedule` dict lets a time budget that shortens training
    move the total and keep the schedule's shape.
    """
    schedule = {"total_steps": total_steps}

    def factor(step: int) -> float:
        total = schedule["total_steps"]
        warmup = max(1, int(warmup_fraction * total))
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))

    factor.schedule = schedule
    return factor


class TaskModule(L.LightningModule):
    """Trains `model` for `task` with `loss`; validation logs `task.validation_logs`.

    AdamW with a lower learning rate on the pretrained encoder (`backbone_lr_scale`), the
    config's schedule (`lr_scheduler`), and two stages when `freeze_epochs` > 0: the encoder
    is frozen (weights and batch-norm statistics) while the new head learns, so its first
    large, random gradients do not wreck the pretrained features; then everything trains.
    The validation metric is a torchmetrics `Metric`, so DDP processes agree on it.

    Weights and images are channels_last during the fit: with bf16 autocast the MSRC-v2
    segmenter's training step ran 1.5x faster on one core (`benchmarks/train_speed.py`).
    `fit_model` turns the weights back to the standard layout before saving them.
    """

    def __init__(self, task: Task, model: nn.Module, loss: nn.Module) -> None:
        super().__init__()
        self.task, self.model, self.loss = task, model, loss
        self.config = task.config
        self.val_metric = task.validation_metric()
        self.save_hyperparameters({"task": task.name, **asdict(task.config)})
        self.schedule: dict | None = None  # warmup_cosine's total steps (see EpochBudget)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.contiguous(memory_format=torch.channels_last))

    def on_fit_start(self) -> None:
        self.model.to(memory_format=torch.channels_last)

    def _frozen_epoch(self) -> bool:
        # the data module's schedule, which the time budget shortens, when there is one
        schedule = getattr(self.trainer.datamodule, "schedule", None)
        if schedule is not None:
            return schedule.frozen(self.current_epoch)
        return self.current_epoch < self.config.frozen_epochs

    def on_train_epoch_start(self) -> None:
        self.model.encoder.requires_grad_(not self._frozen_epoch())

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        if self._frozen_epoch():
            self.model.encoder.eval()  # Lightning sets train mode each epoch; keep BN frozen
        loss = self.loss(self(batch["image"]), batch[self.task.target_key])
        self.log("train/loss", loss, prog_bar=True, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        logits = self(batch["image"])
        targets = batch[self.task.target_key]
        self.log("val/loss", self.loss(logits, targets), on_epoch=True, sync_dist=True)
        self.val_metric.update(self.task.metric_inputs(logits), targets)

    def on_validation_epoch_end(self) -> None:
        logs = self.task.validation_logs(self.val_metric.compute())  # synced across processes
        for name, value in logs.items():
            self.log(name, float(value), prog_bar=True)
        self.val_metric.reset()

    def configure_optimizers(self):
        c = self.config
        encoder = list(self.model.encoder.parameters())
        encoder_ids = {id(p) for p in encoder}
        rest = [p for p in self.model.parameters() if id(p) not in encoder_ids]
        encoder_lr = c.lr * (c.backbone_lr_scale if c.pretrained != "none" else 1.0)
        optimizer = torch.optim.AdamW(
            [{"params": encoder, "lr": encoder_lr}, {"params": rest, "lr": c.lr}],
            weight_decay=c.weight_decay,
        )
        return {"optimizer": optimizer, "lr_scheduler": self.lr_scheduler(optimizer)}

    def lr_scheduler(self, optimizer: torch.optim.Optimizer) -> dict:
        """Lightning's scheduler entry for the config's `scheduler`: warmup_cosine and
        onecycle over all steps, sgdr restarting every `restart_epochs`, plateau halving the
        rate when the monitored validation metric has not improved for 2 epochs."""
        name = self.config.scheduler
        sched = torch.optim.lr_scheduler
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        if name == "plateau":
            plateau = sched.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=2)
            return {"scheduler": plateau, "interval": "epoch", "monitor": self.task.monitor}
        if name == "onecycle":
            peaks = [group["lr"] for group in optimizer.param_groups]
            scheduler = sched.OneCycleLR(optimizer, max_lr=peaks, total_steps=total_steps)
        elif name == "sgdr":
            steps_per_epoch = max(1, total_steps // max(1, self.trainer.max_epochs))
            period = self.config.restart_epochs * steps_per_epoch
            scheduler = sched.CosineAnnealingWarmRestarts(optimizer, T_0=period)
        elif name == "warmup_cosine":
            factor = warmup_cosine(total_steps)
            self.schedule = factor.schedule
            scheduler = sched.LambdaLR(optimizer, factor)
        else:
            raise ValueError(f"unknown scheduler '{name}'")
        return {"scheduler": scheduler, "interval": "step"}

"""LightningModules: what a training and a validation step mean for each model."""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import MulticlassConfusionMatrix
from torchmetrics.functional.classification import multilabel_average_precision

from ..data.sample import IGNORE_INDEX
from ..models import Classifier, Segmenter
from .losses import SegmentationLoss, classification_loss


def _image_dice(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per-image Dice of boolean N x ... tensors, 1 where both are empty (Kaggle rule)."""
    pred, truth = pred.flatten(1), truth.flatten(1)
    inter = (pred & truth).sum(1).float()
    total = (pred.sum(1) + truth.sum(1)).float()
    return torch.where(total == 0, torch.ones_like(total), 2 * inter / total.clamp(min=1))


def warmup_cosine(total_steps: int, warmup_fraction: float = 0.1):
    """Learning-rate factor per step: linear warm-up, then cosine decay to zero.

    A plain function (not a scheduler with its own step count) so that a resumed run that asks
    for more epochs rebuilds it for the new total; only the step counter is restored.
    """
    warmup = max(1, int(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class _Task(L.LightningModule):
    """Shared optimiser: AdamW, lower learning rate on the pretrained encoder, and the
    `scheduler` of the hyper-parameters (default warm-up + cosine, see `lr_scheduler`)."""

    model: nn.Module
    loss: nn.Module
    target: str  # the batch key the loss compares against

    def encoder_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch["image"]), batch[self.target])
        self.log("train/loss", loss, prog_bar=True, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self):
        hp = self.hparams
        encoder_ids = {id(p) for p in self.encoder_parameters()}
        rest = [p for p in self.model.parameters() if id(p) not in encoder_ids]
        encoder_lr = hp.lr * (hp.backbone_lr_scale if hp.pretrained != "none" else 1.0)
        optimizer = torch.optim.AdamW(
            [
                {"params": self.encoder_parameters(), "lr": encoder_lr},
                {"params": rest, "lr": hp.lr},
            ],
            weight_decay=hp.weight_decay,
        )
        return {"optimizer": optimizer, "lr_scheduler": self.lr_scheduler(optimizer)}

    def lr_scheduler(self, optimizer: torch.optim.Optimizer) -> dict:
        """Lightning's scheduler entry for `hparams.scheduler`: warmup_cosine and onecycle over
        all steps, sgdr restarting every `restart_epochs`, plateau halving the rate when the
        monitored validation metric has not improved for 2 epochs."""
        name = self.hparams.get("scheduler", "warmup_cosine")
        sched = torch.optim.lr_scheduler
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        if name == "plateau":
            plateau = sched.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=2)
            return {"scheduler": plateau, "interval": "epoch", "monitor": self.monitor}
        if name == "onecycle":
            peaks = [group["lr"] for group in optimizer.param_groups]
            scheduler = sched.OneCycleLR(optimizer, max_lr=peaks, total_steps=total_steps)
        elif name == "sgdr":
            steps_per_epoch = max(1, total_steps // max(1, self.trainer.max_epochs))
            period = self.hparams.get("restart_epochs", 4) * steps_per_epoch
            scheduler = sched.CosineAnnealingWarmRestarts(optimizer, T_0=period)
        elif name == "warmup_cosine":
            scheduler = sched.LambdaLR(optimizer, warmup_cosine(total_steps))
        else:
            raise ValueError(f"unknown scheduler '{name}'")
        return {"scheduler": scheduler, "interval": "step"}


class ClassificationTask(_Task):
    """Multi-label classification; validation reports macro mAP and per-image Dice.

    Two stages when `freeze_epochs` > 0: the backbone is frozen (weights and batch-norm
    statistics) while the new head learns, so its first large, random gradients do not wreck
    the pretrained features; then everything trains, the backbone at a lower learning rate.
    """

    monitor = "val/mAP"
    target = "labels"

    def __init__(
        self,
        classes: list[str],
        backbone: str,
        pretrained: str,
        lr: float,
        backbone_lr_scale: float,
        weight_decay: float,
        threshold: float = 0.5,
        image_size: int = 224,
        loss: str = "bce",
        freeze_epochs: int = 0,
        positive_weight: list[float] | None = None,
        scheduler: str = "warmup_cosine",
        restart_epochs: int = 4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = Classifier(len(classes), backbone, pretrained)
        weight = torch.tensor(positive_weight) if positive_weight is not None else None
        self.loss = classification_loss(loss, weight)
        self.val_probs: list[torch.Tensor] = []
        self.val_labels: list[torch.Tensor] = []

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.model.backbone.parameters())

    def on_train_epoch_start(self) -> None:
        frozen = self.current_epoch < self.hparams.freeze_epochs
        self.model.backbone.requires_grad_(not frozen)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        if self.current_epoch < self.hparams.freeze_epochs:
            self.model.backbone.eval()  # Lightning sets train mode each epoch; keep BN frozen
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        logits = self(batch["image"])
        labels = batch["labels"]
        self.log("val/loss", self.loss(logits, labels), on_epoch=True)
        self.val_probs.append(logits.sigmoid())
        self.val_labels.append(labels.int())

    def on_validation_epoch_end(self) -> None:
        probs, labels = torch.cat(self.val_probs), torch.cat(self.val_labels)
        # Mean AP over the classes present: a class without positives has no defined AP.
        present = labels.sum(0) > 0
        ap = multilabel_average_precision(probs, labels, num_labels=labels.shape[1], average="none")
        self.log(
            "val/mAP", ap[present].mean() if present.any() else ap.new_zeros(()), prog_bar=True
        )
        dice = _image_dice(probs > self.hparams.threshold, labels > 0)
        self.log("val/dice", dice.mean(), prog_bar=True)
        self.val_probs.clear()
        self.val_labels.clear()


class SegmentationTask(_Task):
    """Per-pixel classification (background + K classes, see `Segmenter` for binary and
    background-free sets) with the configured `SegmentationLoss`; validation reports mIoU
    over the classes present and the Kaggle per-image Dice."""

    monitor = "val/mIoU"
    target = "mask"

    def __init__(
        self,
        classes: list[str],
        backbone: str,
        pretrained: str,
        lr: float,
        backbone_lr_scale: float,
        weight_decay: float,
        arch: str = "fpn",
        image_size: int = 256,
        background: bool = True,
        loss: str = "ce+dice",
        loss_weights: tuple[float, ...] = (1.0, 0.5),
        class_weights: list[float] | None = None,
        scheduler: str = "warmup_cosine",
        restart_epochs: int = 4,
        decoder_width: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = Segmenter(len(classes), backbone, pretrained, arch, background, decoder_width)
        weights = torch.tensor(class_weights) if class_weights is not None else None
        self.loss = SegmentationLoss(loss, tuple(loss_weights), weights, self.model.binary)
        num_labels = len(classes) + 1
        self.val_confusion = MulticlassConfusionMatrix(num_labels, ignore_index=IGNORE_INDEX)
        self.val_dice: list[torch.Tensor] = []

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.model.net.encoder.parameters())

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        logits = self(batch["image"])
        masks = batch["mask"]
        self.log("val/loss", self.loss(logits, masks), on_epoch=True)
        pred = logits.argmax(1)
        self.val_confusion.update(pred, masks)
        classes = torch.arange(1, logits.shape[1], device=pred.device)[None, :, None, None]
        self.val_dice.append(_image_dice(pred[:, None] == classes, masks[:, None] == classes))

    def on_validation_epoch_end(self) -> None:
        confusion = self.val_confusion.compute().float()
        inter = confusion.diag()
        union = confusion.sum(0) + confusion.sum(1) - inter
        self.log("val/mIoU", (inter[union > 0] / union[union > 0]).mean(), prog_bar=True)
        self.log("val/dice", torch.cat(self.val_dice).mean(), prog_bar=True)
        self.val_confusion.reset()
        self.val_dice.clear()

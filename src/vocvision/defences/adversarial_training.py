"""Adversarial fine-tuning: continue training a trained model on adversarial examples.

Each batch is attacked with FGSM from a random start (the "fast" adversarial training of
Wong et al. 2020, one gradient step at 1.25 eps, which PGD training matches at a fraction of
the cost) using the model's current weights, and the loss is the mean of the clean and the
adversarial loss (Goodfellow et al. 2015), so clean accuracy is kept while robustness grows.
The attack uses the same threat model and objective as the evaluation (see `attacks.base`).
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..attacks import PGD
from ..data.sample import IGNORE_INDEX


def task_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Training loss by output shape: per-pixel CE (masks), CE (class indices), BCE."""
    if logits.ndim == 4:
        return F.cross_entropy(logits, targets.long(), ignore_index=IGNORE_INDEX)
    if targets.ndim == 1:
        return F.cross_entropy(logits, targets.long())
    return F.binary_cross_entropy_with_logits(logits, targets.float())


class AdversarialFinetuning(L.LightningModule):
    """Lightning wrapper that fine-tunes `model` (all its parameters, AdamW, cosine decay)."""

    def __init__(
        self,
        model: nn.Module,
        eps: float,
        lr: float = 1e-4,
        threshold: float | Sequence[float] = 0.5,
    ) -> None:
        super().__init__()
        self.model, self.eps, self.lr, self.threshold = model, eps, lr, threshold

    def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
        images, targets = batch
        attack = PGD(
            self.model,
            self.eps,
            steps=1,
            alpha=1.25 * self.eps,
            best_iterate=False,  # fast FGSM-RS (Wong et al. 2020): one step, no extra pass
            seed=None,
            threshold=self.threshold,
        )
        adversarial = attack(images, targets)
        clean_loss = task_loss(self.model(images), targets)
        adversarial_loss = task_loss(self.model(adversarial), targets)
        self.log_dict(
            {"train/clean_loss": clean_loss, "train/adversarial_loss": adversarial_loss},
            prog_bar=True,
            on_epoch=True,
            on_step=False,
        )
        return (clean_loss + adversarial_loss) / 2

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=1e-4)
        total = int(self.trainer.estimated_stepping_batches)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total),
                "interval": "step",
            },
        }


def adversarial_finetune(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    eps: float,
    epochs: int = 3,
    lr: float = 1e-4,
    batch_size: int = 16,
    threshold: float | Sequence[float] = 0.5,
    seed: int = 0,
) -> nn.Module:
    """Fine-tune `model` in place on `images` (N x 3 x H x W in [0, 1]) and `targets`
    (multi-hot labels, class indices or masks); return it in eval mode."""
    L.seed_everything(seed, verbose=False)
    model.requires_grad_(True)
    loader = DataLoader(TensorDataset(images, targets), batch_size=batch_size, shuffle=True)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    trainer.fit(AdversarialFinetuning(model, eps, lr, threshold), loader)
    return model.eval()

"""Adversarial fine-tuning: continue training a trained model on adversarial examples.

Each batch is attacked with FGSM from a random start (the "fast" adversarial training of
Wong et al. 2020, one gradient step at 1.25 eps, which PGD training matches at a fraction of
the cost) using the model's current weights, and the loss is the mean of the clean and the
adversarial loss (Goodfellow et al. 2015), so clean accuracy is kept while robustness grows.
The attack uses the same threat model and objective as the evaluation (see `attacks.base`).
"""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..attacks import PGD, Objective

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class AdversarialFinetuning(L.LightningModule):
    """Lightning wrapper that fine-tunes `model` (all its parameters, AdamW, cosine decay) on
    the mean of `loss` on clean and on FGSM-RS images that attack `objective`."""

    def __init__(
        self, model: nn.Module, eps: float, loss: Loss, objective: Objective, lr: float = 1e-4
    ) -> None:
        super().__init__()
        self.model, self.eps, self.lr = model, eps, lr
        self.task_loss, self.objective = loss, objective

    def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
        images, targets = batch
        attack = PGD(
            self.model,
            self.eps,
            steps=1,
            alpha=1.25 * self.eps,
            best_iterate=False,  # fast FGSM-RS (Wong et al. 2020): one step, no extra pass
            seed=None,
            objective=self.objective,
        )
        adversarial = attack(images, targets)
        clean_loss = self.task_loss(self.model(images), targets)
        adversarial_loss = self.task_loss(self.model(adversarial), targets)
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
    loss: Loss,
    objective: Objective,
    epochs: int = 3,
    lr: float = 1e-4,
    batch_size: int = 16,
    seed: int = 0,
) -> nn.Module:
    """Fine-tune `model` in place on `images` (N x 3 x H x W in [0, 1]) and `targets` (what
    `loss` and `objective` take: multi-hot labels, masks, class indices); return it in eval
    mode. `loss` is the training loss (e.g. BCE, per-pixel CE), `objective` the attack's."""
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
    trainer.fit(AdversarialFinetuning(model, eps, loss, objective, lr), loader)
    return model.eval()

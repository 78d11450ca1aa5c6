"""The defences, each judged by an attack that knows about it: JPEG and blur in front of the
model (against the bare model's PGD images, and adaptively through the defence), and
adversarial fine-tuning of a copy (PGD on the fine-tuned model)."""

from __future__ import annotations

import copy
import time

import torch

from ...attacks import PGD
from ...defences import JPEG, GaussianBlur, adversarial_finetune, defended
from ...runfolder import AttackRow
from ..run_models import TrainedModel
from .measured_attack import measure, timed


def defence_rows(
    victim: TrainedModel,
    train: tuple[torch.Tensor, torch.Tensor] | None,
    images: torch.Tensor,
    truth: torch.Tensor,
    pgd_images: torch.Tensor,
    eps: float,
    steps: int,
    finetune_epochs: int,
) -> list[AttackRow]:
    """JPEG and blur rows (non-adaptive: the bare model's `pgd_images`; adaptive: PGD
    through the defence, BPDA for JPEG), then, with `train` (images, truth) and
    `finetune_epochs`, adversarial fine-tuning of a copy scored under PGD on it."""
    rows = []
    for name, transform in (("JPEG q75", JPEG(75)), ("blur sigma 1", GaussianBlur(1.0))):
        model = defended(victim.model, transform)
        identity = {"model": model, "steps": steps, "defence": name}
        rows.append(
            measure(victim, "pgd", eps, images, pgd_images, truth, adaptive=False, **identity)
        )
        attack = PGD(model, eps, steps=steps, objective=victim.task.objective())
        adversarial, seconds = timed(attack, images, truth)
        rows.append(
            measure(
                victim, "pgd", eps, images, adversarial, truth, seconds, adaptive=True, **identity
            )
        )
    if train is not None and finetune_epochs > 0:
        rows.append(finetuned_row(victim, train, images, truth, eps, steps, finetune_epochs))
    return rows


def finetuned_row(
    victim: TrainedModel,
    train: tuple[torch.Tensor, torch.Tensor],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    steps: int,
    epochs: int,
) -> AttackRow:
    """A copy of the model fine-tuned on adversarial examples of `train` (FGSM-RS), scored
    under PGD on the fine-tuned copy itself."""
    task, model = victim.task, copy.deepcopy(victim.model)
    started = time.perf_counter()
    adversarial_finetune(model, *train, eps, task.plain_loss(), task.objective(), epochs)
    fit_seconds = time.perf_counter() - started
    attack = PGD(model, eps, steps=steps, objective=task.objective())
    adversarial, seconds = timed(attack, images, truth)
    return measure(
        victim,
        "pgd",
        eps,
        images,
        adversarial,
        truth,
        seconds,
        model=model,
        steps=steps,
        defence=f"adversarial fine-tuning ({epochs} ep)",
        adaptive=True,
        fit_seconds=fit_seconds,
    )

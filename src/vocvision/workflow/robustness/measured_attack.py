"""One attack, run and measured: the task's metric clean and attacked, fooling rate, targeted
success and the perturbation's size and visibility, as an `AttackRow`."""

from __future__ import annotations

import time

import torch
from torch import nn

from ...attacks import Attack
from ...attacks.measure import outputs, perturbation_stats, run_attack
from ...runfolder import AttackRow
from ..run_models import TrainedModel


def timed(attack: Attack, images: torch.Tensor, targets: torch.Tensor):
    """(adversarial images, seconds) of `attack` over `images` in batches."""
    started = time.perf_counter()
    adversarial = run_attack(attack, images, targets)
    return adversarial, time.perf_counter() - started


def measure(
    victim: TrainedModel,
    attack: str,
    eps: float,
    images: torch.Tensor,
    adversarial: torch.Tensor,
    truth: torch.Tensor,
    seconds: float = 0.0,
    goal_targets: torch.Tensor | None = None,
    model: nn.Module | None = None,
    **identity,
) -> AttackRow:
    """The row of `attack` (budget `eps`) on `victim`: its metric on `images` and on
    `adversarial` against `truth`, the fooling rate, targeted success with `goal_targets`,
    and the perturbation's norms, PSNR and SSIM. `model` replaces the victim's own (a
    defended or fine-tuned copy); `identity` fills the row's other fields (steps, goal,
    defence, ...)."""
    task, model = victim.task, model or victim.model
    clean_pred = task.decide(outputs(model, images))
    adv_pred = task.decide(outputs(model, adversarial))
    clean, adv = task.score(clean_pred, truth), task.score(adv_pred, truth)
    return AttackRow(
        model=task.name,
        attack=attack,
        eps_255=round(eps * 255, 3),
        metric=task.metric,
        clean=clean,
        adversarial=adv,
        ratio=adv / clean if clean else float("nan"),
        fooling_rate=task.fooling_rate(clean_pred, adv_pred),
        success=None if goal_targets is None else task.success(adv_pred, goal_targets),
        clean_success=None if goal_targets is None else task.success(clean_pred, goal_targets),
        seconds_per_image=seconds / max(1, len(images)),
        images=len(images),
        **perturbation_stats(adversarial, images),
        **identity,
    )

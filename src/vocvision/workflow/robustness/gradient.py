"""Gradient attacks at the budget (noise as the baseline, FGSM, PGD, targeted PGD) and the
PGD robustness curve over eps."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...attacks import FGSM, PGD, RandomNoise
from ...runfolder import AttackRow
from ..run_models import TrainedModel
from .measured_attack import measure, timed
from .outputs import AttackOutputs
from .pictures import example_figure


def gradient_rows(
    victim: TrainedModel,
    ids: list[str],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    steps: int,
    targeted_steps: int,
    out: AttackOutputs,
) -> tuple[list[AttackRow], torch.Tensor]:
    """Noise, FGSM, PGD (`steps`) and targeted PGD (`targeted_steps`) at `eps`; returns the
    rows and the PGD images (saved as PNGs, with example figures)."""
    model, task = victim.model, victim.task
    objective = task.objective()
    rows = []
    for name, attack, extra in (
        ("noise", RandomNoise(model, eps), {}),
        ("fgsm", FGSM(model, eps, objective=objective), {}),
        ("pgd", PGD(model, eps, steps=steps, objective=objective), {"steps": steps}),
    ):
        adversarial, seconds = timed(attack, images, truth)
        rows.append(measure(victim, name, eps, images, adversarial, truth, seconds, **extra))
    pgd_images = adversarial
    goal = task.goal(truth)
    row, adversarial = targeted_pgd_row(
        victim, images, truth, goal.targets, goal.description, eps, targeted_steps
    )
    rows.append(row)
    out.images(f"{task.name}_pgd", ids, pgd_images)
    budget = f"{eps * 255:g}/255"
    out.save(
        f"{task.name}_pgd",
        example_figure(victim, ids, images, pgd_images, f"PGD-{steps} adversarial"),
        f"The {task.name} under PGD-{steps} at {budget}: the perturbation, amplified to be "
        "seen, and the predictions before and after.",
    )
    out.save(
        f"{task.name}_targeted",
        example_figure(victim, ids, images, adversarial, f"targeted: {goal.description}"),
        f"Targeted PGD-{targeted_steps} on the {task.name} at {budget}, goal: {goal.description}.",
    )
    return rows, pgd_images


def targeted_pgd_row(
    victim: TrainedModel,
    images: torch.Tensor,
    truth: torch.Tensor,
    goal_targets: torch.Tensor,
    goal: str,
    eps: float,
    steps: int,
) -> tuple[AttackRow, torch.Tensor]:
    """A targeted PGD of `steps` towards `goal_targets` (described as `goal`) at `eps`:
    its row and its adversarial images."""
    objective = victim.task.objective()
    attack = PGD(victim.model, eps, steps=steps, targeted=True, objective=objective)
    adversarial, seconds = timed(attack, images, goal_targets)
    row = measure(
        victim, "targeted_pgd", eps, images, adversarial, truth, seconds, goal_targets,
        steps=steps, goal=goal,
    )  # fmt: skip
    return row, adversarial


def curve_rows(
    victim: TrainedModel,
    images: torch.Tensor,
    truth: torch.Tensor,
    budgets: Sequence[float],
    steps: int,
) -> list[AttackRow]:
    """PGD rows over eps = b/255 for each b in `budgets`."""
    rows = []
    for b in budgets:
        attack = PGD(victim.model, b / 255, steps=steps, objective=victim.task.objective())
        adversarial, seconds = timed(attack, images, truth)
        rows.append(
            measure(
                victim, "pgd", b / 255, images, adversarial, truth, seconds, steps=steps, curve=True
            )
        )
    return rows

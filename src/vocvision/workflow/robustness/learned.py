"""Attacks that learn from the training images: a universal perturbation and a trained
perturbation generator, both scored on images they never saw."""

from __future__ import annotations

import time

import torch

from ...attacks import GeneratorAttack, UniversalPerturbation
from ...attacks.measure import outputs
from ...runfolder import AttackRow
from ..run_models import TrainedModel
from .gradient import targeted_pgd_row
from .measured_attack import measure, timed
from .outputs import AttackOutputs
from .pictures import example_figure

# The generator's training per task. The segmenter's trains on 160 px crops of its 256 px
# images in batches of 4: a step costs about a third of a whole-image one, so it takes more,
# shorter epochs. "All background" on unseen MSRC-v2 val pixels, 8/255, CosPGD weights and
# the full-resolution head: 73 % at width 16 for 40 such epochs, 76 % at width 32, 85 % at
# width 32 for 80 (61 % from whole images at width 16 for 20 epochs, without the head).
GENERATOR_SETTINGS: dict[str, dict] = {
    "classifier": {"epochs": 20},
    "segmenter": {"epochs": 80, "width": 32, "crop_size": 160, "batch_size": 4},
}


def universal_row(
    victim: TrainedModel,
    train: torch.Tensor,
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    epochs: int = 20,
) -> AttackRow:
    """A universal perturbation learnt on the `train` images (against the model's own
    predictions, so no labels are needed) and applied to `images`. 20 epochs by default, not
    10: with the flips the classifier's delta no longer memorises its training set (MSRC-v2
    val fooling rate 0.83 vs 0.77, for both models)."""
    task = victim.task
    targets = task.as_targets(task.decide(outputs(victim.model, train)))
    started = time.perf_counter()
    attack = UniversalPerturbation(
        victim.model, eps, epochs=epochs, objective=task.universal_objective()
    )
    attack.fit(train, targets)
    fit_seconds = time.perf_counter() - started
    adversarial, seconds = timed(attack, images, truth)
    row = measure(victim, "universal", eps, images, adversarial, truth, seconds)
    row.fit_seconds = fit_seconds
    return row


def generator_rows(
    victim: TrainedModel,
    train: tuple[torch.Tensor, torch.Tensor],
    ids: list[str],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    out: AttackOutputs,
    epochs: int | None = None,
    max_seconds: float | None = None,
    target: str | None = None,
    pgd_steps: int = 20,
) -> list[AttackRow]:
    """A perturbation generator trained on the `train` (images, truth) for the task's
    generator goal (classifier: add the rarest class; segmenter: all background), scored on
    the `images` it never saw (those the goal counts), towards the class `target` if given.
    Training follows `GENERATOR_SETTINGS` for the task, with `epochs` if given, within
    `max_seconds` if given (fewer epochs, then fewer images). A targeted PGD of `pgd_steps`
    for the same goal on the same images is its upper bound (a per-image optimisation
    instead of one forward pass); the rows are [generator, PGD]."""
    task, (train_images, train_truth) = victim.task, train
    own_train, own = (
        task.as_targets(task.decide(outputs(victim.model, x))) for x in (train_images, images)
    )
    train_goal, goal, keep = task.generator_goal(train_truth, own_train, truth, own, target)
    settings = GENERATOR_SETTINGS[task.name] | ({"epochs": epochs} if epochs is not None else {})
    objective = task.generator_objective()
    started = time.perf_counter()
    attack = GeneratorAttack(
        victim.model, eps, targeted=True, objective=objective, max_seconds=max_seconds, **settings
    )
    attack.fit(train_images, train_goal)
    fit_seconds = time.perf_counter() - started
    trained_on = f"{attack.trained['epochs']} epochs of {attack.trained['images']} images"
    adversarial, seconds = timed(attack, images[keep], truth[keep])
    row = measure(
        victim,
        "generator",
        eps,
        images[keep],
        adversarial,
        truth[keep],
        seconds,
        goal.targets[keep],
        goal=goal.description,
        fit_seconds=fit_seconds,
        train_loss=attack.history,
        trained_on=trained_on,
    )
    x, goal_targets = images[keep], goal.targets[keep]
    # the upper bound: a targeted PGD for the same goal, each image optimised on its own
    upper, _ = targeted_pgd_row(victim, x, truth[keep], goal_targets, goal.description, eps,
                                pgd_steps)  # fmt: skip
    kept = [i for i, k in zip(ids, keep.tolist(), strict=True) if k]
    _pictures(out, victim, kept, x, adversarial, goal.description, trained_on, eps)
    return [row, upper]


def _pictures(
    out: AttackOutputs, victim, ids, images, adversarial, goal: str, trained_on: str, eps: float
) -> None:
    """The generator's example figure and one clean/attacked pair at true scale."""
    name = victim.task.name
    out.save(
        f"{name}_generator",
        example_figure(victim, ids, images, adversarial, f"generator: {goal}", 6),
        f"A perturbation generator trained on training images ({trained_on}; {goal}, "
        f"{eps * 255:g}/255), applied to validation images it never saw.",
    )
    out.save_pair(
        f"{name}_generator_true_scale",
        images[0],
        adversarial[0],
        f"Clean (left) and generator-attacked (right) image {ids[0]} at true scale, one "
        f"pixel per pixel, not amplified: the perturbation is at most {eps * 255:g}/255.",
    )

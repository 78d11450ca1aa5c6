"""Attacks that learn from the training images: a universal perturbation and a trained
perturbation generator, both scored on images they never saw."""

from __future__ import annotations

import time

import torch

from ...attacks import GeneratorAttack, UniversalPerturbation
from ...attacks.measure import outputs
from ...runfolder import AttackRow
from ..trained import TrainedModel
from .measuring import measure, timed
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


def generator_row(
    victim: TrainedModel,
    train: tuple[torch.Tensor, torch.Tensor],
    ids: list[str],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    epochs: int | None,
    out: AttackOutputs,
) -> AttackRow:
    """A perturbation generator trained on the `train` (images, truth) for the task's
    generator goal (classifier: add the rarest class; segmenter: all background), scored on
    the `images` it never saw (those the goal counts). Training follows
    `GENERATOR_SETTINGS` for the task, with `epochs` if given."""
    task, (train_images, train_truth) = victim.task, train
    own_train, own = (
        task.as_targets(task.decide(outputs(victim.model, x))) for x in (train_images, images)
    )
    train_goal, goal, keep = task.generator_goal(train_truth, own_train, truth, own)
    settings = GENERATOR_SETTINGS[task.name] | ({"epochs": epochs} if epochs is not None else {})
    objective = task.generator_objective()
    started = time.perf_counter()
    attack = GeneratorAttack(victim.model, eps, targeted=True, objective=objective, **settings)
    attack.fit(train_images, train_goal)
    fit_seconds = time.perf_counter() - started
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
    )
    kept = [i for i, k in zip(ids, keep.tolist(), strict=True) if k]
    out.save(
        f"{task.name}_generator",
        example_figure(
            victim, kept, images[keep], adversarial, f"generator: {goal.description}", 6
        ),
        f"A perturbation generator trained on the training images ({goal.description}, "
        f"{eps * 255:g}/255), applied to images it never saw.",
    )
    return row

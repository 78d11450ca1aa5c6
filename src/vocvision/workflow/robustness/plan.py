"""Fitting the attack suite into a time budget: time one gradient step of each model, then
choose how many images to attack and which optional attacks fit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import torch

from ...attacks.generator import MIN_EPOCHS
from ..run_models import TrainedModels
from .learned import GENERATOR_SETTINGS
from .suite import AttackSettings

FORWARD = 1 / 3  # a forward pass, in gradient steps


@dataclass
class AttackPlan:
    """The settings that fit, what was left out and why, and the estimate in seconds."""

    settings: AttackSettings | None
    skipped: list[str] = field(default_factory=list)
    estimate_s: float = 0.0


def gradient_step_seconds(model: torch.nn.Module, size: int, batch: int = 4) -> float:
    """Seconds of one forward + backward pass per image at `size` (best of two)."""
    images = torch.rand(batch, 3, size, size, requires_grad=True)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        model.eval()(images).float().sum().backward()
        times.append(time.perf_counter() - started)
        images.grad = None
    model.zero_grad(set_to_none=True)
    return min(times) / batch


def plan_attacks(
    models: TrainedModels,
    seconds: float,
    images: int,
    train_images: int,
    base: AttackSettings | None = None,
) -> AttackPlan:
    """The suite that fits `seconds`: noise, FGSM, PGD, targeted PGD, the curve and the
    transfer on as many of the `images` as half the time allows (at most the base settings'
    `max_images`, at least 2); a universal perturbation (10/255) learnt on the
    `train_images` in 15 % of the time (fewer epochs or images when needed); a perturbation
    generator (8/255, the network the assignment asks for) in up to 30 % of it, trained
    within its time limit (fewer epochs, then fewer images); then the defences if the time
    left allows them."""
    s = base or AttackSettings()
    costs = {name: gradient_step_seconds(m.model, m.task.input_size) for name, m in models.items()}
    step = sum(costs.values())
    core_steps = 1 + s.steps + s.targeted_steps + len(s.budgets) * s.steps + 12 * FORWARD
    count = min(s.max_images or images, images, math.floor(0.5 * seconds / (step * core_steps)))
    if count < 2:
        return AttackPlan(None, [f"the attacks: {seconds:.0f} s fit fewer than 2 images"])
    used = count * step * core_steps
    options, skipped = {"max_images": count}, []
    universal = _universal(step, 0.15 * seconds, train_images)
    if universal is None:
        skipped.append("the universal perturbation: too little time for 3 epochs of 8 images")
    else:
        options |= universal
        used += step * (1 + FORWARD) * universal["universal_epochs"] * universal["universal_images"]
    full, least = _generator_costs(models, costs, train_images)
    upper_bound = count * step * s.targeted_steps  # the targeted PGD it is judged against
    share = min(full, 0.3 * seconds - upper_bound, seconds - used - upper_bound)
    if share >= least:
        options |= {"generator_eps": 8 / 255, "generator_seconds": share / len(costs)}
        used += share + upper_bound
    else:
        skipped.append(
            f"the perturbation generator: {seconds - used:.0f} s left, it needs {least:.0f} s"
        )
    defences = step * (2 * count * s.steps + 3 * s.finetune_epochs * train_images)
    if used + defences <= seconds:
        options |= {"defences": True}
        used += defences
    else:
        skipped.append(f"the defences: about {defences:.0f} s, {seconds - used:.0f} s left")
    return AttackPlan(replace(s, **options), skipped, used)


def _universal(step: float, seconds: float, train_images: int) -> dict | None:
    """A universal perturbation at 10/255 in `seconds`: 20 epochs over the training images,
    fewer epochs (down to 3), then fewer images (down to 8), until it fits."""
    per_pass = step * (1 + FORWARD)
    epochs = min(20, math.floor(seconds / (per_pass * train_images)))
    count = train_images
    if epochs < 3:
        epochs, count = 3, min(train_images, math.floor(seconds / (per_pass * 3)))
    if count < 8:
        return None
    return {"universal_eps": 10 / 255, "universal_epochs": epochs, "universal_images": count}


def _generator_costs(
    models: TrainedModels, costs: dict[str, float], train_images: int
) -> tuple[float, float]:
    """(seconds for the full training, the least worth doing: its fewest epochs over 16
    images) of every model's generator. A step is the victim's and the generator's forward
    and backward pass; a crop costs its share of the image's pixels."""
    full = least = 0.0
    for name, cost in costs.items():
        settings = GENERATOR_SETTINGS[name]
        crop, size = settings.get("crop_size"), models[name].task.input_size
        per_image = 2 * cost * (1.0 if crop is None else min(1.0, (crop / size) ** 2))
        full += per_image * settings["epochs"] * train_images
        least += per_image * MIN_EPOCHS * min(16, train_images)
    return full, least

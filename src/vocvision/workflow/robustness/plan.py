"""Fitting the attack suite into a time budget: time one gradient step of each model, then
choose how many images to attack and which optional attacks fit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import torch

from ..trained import TrainedModels
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
    transfer on as many of the `images` as 60 % of the time allows (at most the base
    settings' `max_images`, at least 2); a universal perturbation (10/255) learnt on the
    `train_images` in a quarter of the time (fewer epochs or images when needed); then the
    defences and a generator (8/255), each only if the time left allows it."""
    s = base or AttackSettings()
    costs = {name: gradient_step_seconds(m.model, m.task.input_size) for name, m in models.items()}
    step = sum(costs.values())
    core_steps = 1 + s.steps + s.targeted_steps + len(s.budgets) * s.steps + 12 * FORWARD
    count = min(s.max_images or images, images, math.floor(0.6 * seconds / (step * core_steps)))
    if count < 2:
        return AttackPlan(None, [f"the attacks: {seconds:.0f} s fit fewer than 2 images"])
    used = count * step * core_steps
    options, skipped = {"max_images": count}, []
    universal = _universal(step, 0.25 * seconds, train_images)
    if universal is None:
        skipped.append("the universal perturbation: too little time for 3 epochs of 8 images")
    else:
        options |= universal
        used += step * (1 + FORWARD) * universal["universal_epochs"] * universal["universal_images"]
    optional = (
        (
            "defences",
            step * (2 * count * s.steps + 3 * s.finetune_epochs * train_images),
            {"defences": True},
        ),
        (
            "perturbation generator",
            _generator_cost(models, costs, train_images),
            {"generator_eps": 8 / 255},
        ),
    )
    for name, cost, change in optional:
        if used + cost <= seconds:
            options |= change
            used += cost
        else:
            skipped.append(f"the {name}: about {cost:.0f} s, {seconds - used:.0f} s left")
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


def _generator_cost(models: TrainedModels, costs: dict[str, float], train_images: int) -> float:
    """Its epochs over the training images, each step the victim's and the generator's
    forward and backward pass (a crop costs its share of the image's pixels)."""
    total = 0.0
    for name, cost in costs.items():
        settings = GENERATOR_SETTINGS[name]
        crop, size = settings.get("crop_size"), models[name].task.input_size
        share = 1.0 if crop is None else min(1.0, (crop / size) ** 2)
        total += 2 * cost * share * settings["epochs"] * train_images
    return total

"""PGD (Madry et al. 2018): repeated gradient steps, each projected back into the eps-ball.

Random start inside the ball (uniform for L-inf; a random direction and radius for L2), a
step size `alpha` (default 2.5 * eps / steps, so the walk can cross the ball), optionally
decayed by cosine over the steps so the last steps refine instead of bouncing. With
`weighting="segpgd"` or `"cospgd"` this is SegPGD / CosPGD for segmenters (see `base`).
"""

from __future__ import annotations

import math

import torch

from .base import Attack


class PGD(Attack):
    """`options` are the base class's: targeted, weighting, threshold, kappa."""

    def __init__(
        self,
        model,
        eps: float,
        norm: str = "linf",
        *,
        steps: int = 10,
        alpha: float | None = None,
        random_start: bool = True,
        cosine_steps: bool = False,
        seed: int | None = 0,
        **options,
    ) -> None:
        super().__init__(model, eps, norm, **options)
        self.steps = steps
        self.alpha = alpha if alpha is not None else 2.5 * eps / max(1, steps)
        self.random_start, self.cosine_steps, self.seed = random_start, cosine_steps, seed

    def _start(self, images: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator(device=images.device)
        if self.seed is not None:
            generator.manual_seed(self.seed)
        else:
            generator.seed()
        noise = torch.rand(images.shape, generator=generator, device=images.device)
        if self.norm == "linf":
            return self.project(images + (2 * noise - 1) * self.eps, images)
        direction = torch.randn(images.shape, generator=generator, device=images.device)
        direction = direction / direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        radius = noise.flatten(1)[:, :1].view(-1, 1, 1, 1) * self.eps
        return self.project(images + direction * radius, images)

    def step_size(self, step: int) -> float:
        if not self.cosine_steps:
            return self.alpha
        return self.alpha * 0.5 * (1 + math.cos(math.pi * step / self.steps))

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        adversarial = self._start(images) if self.random_start else images.clone()
        for step in range(self.steps):
            grad = self.gradient(adversarial, targets, progress=step / max(1, self.steps))
            if self.norm == "linf":
                direction = grad.sign()
            else:
                norms = grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)
                direction = grad / norms
            adversarial = self.project(adversarial + self.step_size(step) * direction, images)
        return adversarial

"""Random noise of the attack's budget: the baseline that shows an attack's effect is
adversarial (chosen by gradients) rather than the damage any perturbation of that size does."""

from __future__ import annotations

import torch

from .attack import Attack


class RandomNoise(Attack):
    """L-inf: every pixel moves by +-eps with a random sign (the corner of the ball, the most
    damaging random point); L2: a random direction of length eps. Targets are ignored.

    Args:
        model: the model (only passed through: no gradients are taken).
        eps: the budget in [0, 1] pixel units.
        norm: "linf" or "l2".
        seed: the noise's seed, so every call draws the same noise.

    Shapes: images N x 3 x H x W in [0, 1]; targets any (ignored).

    Example::

        noisy = RandomNoise(model, 4 / 255)(images, labels)
    """

    def __init__(self, model, eps: float, norm: str = "linf", *, seed: int = 0, **options):
        super().__init__(model, eps, norm, **options)
        self.seed = seed

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator(device=images.device).manual_seed(self.seed)
        noise = torch.randn(images.shape, generator=generator, device=images.device)
        return self.project(images + self.eps * self.direction(noise), images)

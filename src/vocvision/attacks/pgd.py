"""PGD (Madry et al. 2018): repeated gradient steps, each projected back into the eps-ball.

Random start inside the ball (uniform for L-inf; a random direction and radius for L2), a
step size `alpha` (default 2.5 * eps / steps, so the walk can cross the ball), optionally
decayed by cosine over the steps so the last steps refine instead of bouncing. With
`weighting="segpgd"` or `"cospgd"` this is SegPGD / CosPGD for segmenters (see `objectives`).

Best iterate (on by default): each step's gradient is taken at the 8-bit image the attack
would return, and each image keeps the iterate that got most of its outputs where the
attacker wants them (ties: the higher loss), as APGD does. The last iterate of plain PGD can
have overshot, and the quantisation the threat model demands shrinks every pixel change by up
to 1/255 (a quarter of a 4/255 budget), which can undo a success measured in floats.
"""

from __future__ import annotations

import math

import torch

from .attack import Attack, quantize


class PGD(Attack):
    """Projected gradient descent from a random start, keeping each image's best iterate.

    Args:
        model: the victim, images in [0, 1] -> logits.
        eps: the budget in [0, 1] pixel units.
        norm: "linf" or "l2".
        objective: what to optimise (default single-label `CrossEntropy`;
            `MultiLabelMargin` for multi-label classifiers, `PixelCrossEntropy` for
            segmenters).
        targeted: move the outputs towards `targets` instead of away from them.
        steps: gradient steps.
        alpha: step size (default 2.5 * eps / steps, so the walk can cross the ball).
        random_start: start at a random point of the ball instead of the clean image.
        cosine_steps: decay the step size by cosine over the steps.
        best_iterate: return each image's best 8-bit iterate (False: the last iterate, as
            torchattacks does).
        seed: the random start's seed (None: a fresh one per call).

    Shapes: images N x 3 x H x W in [0, 1] on the 8-bit grid; targets as the objective
    takes them. Returns N x 3 x H x W.

    Example::

        attack = PGD(segmenter, 4 / 255, steps=10, objective=PixelCrossEntropy("segpgd"))
        adversarial = attack(images, masks)
    """

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
        best_iterate: bool = True,
        seed: int | None = 0,
        **options,
    ) -> None:
        super().__init__(model, eps, norm, **options)
        self.steps = steps
        self.alpha = alpha if alpha is not None else 2.5 * eps / max(1, steps)
        self.random_start, self.cosine_steps, self.seed = random_start, cosine_steps, seed
        self.best_iterate = best_iterate

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
        best = _BestIterate(self, images, targets) if self.best_iterate else None
        for step in range(self.steps):
            # Best iterate: step from the 8-bit image the attack would return, and score it.
            point = adversarial if best is None else quantize(adversarial, images)
            grad, logits, loss = self.gradient(point, targets, step / max(1, self.steps))
            if best is not None:
                best.offer(point, logits, loss)
            adversarial = self.step(adversarial, grad, self.step_size(step), images)
        if best is None:
            return adversarial
        with torch.no_grad():  # the final iterate is only scored
            candidate = quantize(adversarial, images)
            logits = self.model(candidate)
            best.offer(candidate, logits, self.loss(logits, targets, 1.0))
        return best.images


class _BestIterate:
    """Per image, the iterate with the largest attained share; ties: the higher loss."""

    def __init__(self, attack: PGD, images: torch.Tensor, targets: torch.Tensor) -> None:
        self.attack, self.targets = attack, targets
        self.images = images.clone()
        self.attained = torch.full((len(images),), -1.0, device=images.device)
        self.loss = torch.full((len(images),), -math.inf, device=images.device)

    def offer(self, candidate: torch.Tensor, logits: torch.Tensor, loss: torch.Tensor) -> None:
        attained = self.attack.attained(logits, self.targets)
        better = (attained > self.attained) | ((attained == self.attained) & (loss > self.loss))
        self.images[better] = candidate[better]
        self.attained = torch.where(better, attained, self.attained)
        self.loss = torch.where(better, loss, self.loss)

"""What every attack shares: the threat model, the step, the projection, and leaving the model
alone.

Threat model (white-box): the attacker knows the model and its gradients and adds a
perturbation `delta` to images in pixel space [0, 1] (normalisation happens inside our
models), with |delta|_inf <= eps or |delta|_2 <= eps per image. Adversarial images are clipped
to [0, 1] and quantised to 8 bits by truncating delta toward zero, so every pixel change shrinks
or stays: the budget still holds exactly, and a saved PNG reproduces the result.

What is optimised is an `Objective` (see `objectives`): the multi-label margin, per-pixel
cross-entropy (with SegPGD / CosPGD weights) or single-label cross-entropy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .objectives import CrossEntropy, Objective

NORMS = ("linf", "l2")


def quantize(adversarial: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """8-bit adversarial images whose change from `images` (themselves on the 8-bit grid)
    never exceeds the float change in any pixel, so L-inf and L2 budgets survive rounding."""
    delta = (adversarial - images) * 255
    return ((images * 255).round() + torch.trunc(delta.round(decimals=4))).clamp(0, 255) / 255


def spatially(
    targets: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """`transform` applied to targets that are masks (N x H x W), as it was to their images;
    label vectors (N x K) have no pixels and stay as they are."""
    return transform(targets) if targets.ndim == 3 else targets


def random_mirror(
    images: torch.Tensor, targets: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch mirrored left-right with probability 1/2, masks (N x H x W) with it; label
    vectors stay. Training augmentation for the attacks that learn from a set of images."""
    if torch.rand((), generator=generator) < 0.5:
        return images.flip(-1), spatially(targets, lambda t: t.flip(-1))
    return images, targets


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode without parameter gradients, restored afterwards."""
    was_training = model.training
    requires_grad = [p.requires_grad for p in model.parameters()]
    model.eval().requires_grad_(False)
    try:
        yield model
    finally:
        model.train(was_training)
        for p, flag in zip(model.parameters(), requires_grad, strict=True):
            p.requires_grad_(flag)


class Attack:
    """Base class: `attack(images, targets) -> adversarial images` (torchattacks style).

    Args:
        model: the victim, images in [0, 1] -> logits; its weights, gradients and train/eval
            mode are left as they were.
        eps: the budget, in [0, 1] pixel units (4 / 255: four 8-bit levels).
        norm: "linf" (every pixel within eps) or "l2" (the whole perturbation within eps).
        objective: what to optimise (default `CrossEntropy()`, single-label).
        targeted: move the outputs towards `targets` instead of away from them.

    Shapes: `images` N x 3 x H x W in [0, 1] on the 8-bit grid; `targets` as the objective
    takes them (N x K multi-hot, N x H x W masks, N class indices). Returns N x 3 x H x W.
    """

    def __init__(
        self,
        model: nn.Module,
        eps: float,
        norm: str = "linf",
        *,
        objective: Objective | None = None,
        targeted: bool = False,
    ) -> None:
        if norm not in NORMS:
            raise ValueError(f"unknown norm '{norm}'; choose from {NORMS}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.model, self.eps, self.norm = model, eps, norm
        self.objective = objective or CrossEntropy()
        self.targeted = targeted

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with frozen(self.model):
            adversarial = self.perturb(images.detach(), targets.detach())
        return quantize(adversarial.detach(), images.detach())

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, progress: float = 0.0):
        """Per-image goal to ascend: the objective, negated when targeted."""
        loss = self.objective.loss(logits, targets, progress, self.targeted)
        return -loss if self.targeted else loss

    def attained(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-image share of outputs where the attacker wants them (see `Objective`)."""
        return self.objective.attained(logits, targets, self.targeted)

    def gradient(
        self, adversarial: torch.Tensor, targets: torch.Tensor, progress: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gradient of the goal with respect to the images, and the model's logits and the
        per-image goal there (both detached), so an attack that scores its iterates needs no
        second forward pass."""
        adversarial = adversarial.clone().requires_grad_(True)
        logits = self.model(adversarial)
        loss = self.loss(logits, targets, progress)
        grad = torch.autograd.grad(loss.sum(), adversarial)[0]
        return grad, logits.detach(), loss.detach()

    def direction(self, grad: torch.Tensor) -> torch.Tensor:
        """The steepest-ascent direction of the norm: the gradient's sign (L-inf) or the
        gradient scaled to unit length per image (L2)."""
        if self.norm == "linf":
            return grad.sign()
        return grad / grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)

    def step(
        self, adversarial: torch.Tensor, grad: torch.Tensor, size: float, images: torch.Tensor
    ) -> torch.Tensor:
        """One ascent step of `size` along `grad`, projected back into the budget."""
        return self.project(adversarial + size * self.direction(grad), images)

    def shrink(self, delta: torch.Tensor) -> torch.Tensor:
        """`delta` projected into the eps-ball (per image)."""
        if self.norm == "linf":
            return delta.clamp(-self.eps, self.eps)
        norms = delta.flatten(1).norm(dim=1).clamp(min=1e-12)
        return delta * (self.eps / norms).clamp(max=1.0).view(-1, 1, 1, 1)

    def project(self, adversarial: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Back into the eps-ball around `images` and the valid pixel range."""
        return (images + self.shrink(adversarial - images)).clamp(0, 1)

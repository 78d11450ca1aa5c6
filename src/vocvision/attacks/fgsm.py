"""FGSM (Goodfellow et al. 2015): one step of size eps along the gradient's sign (L-inf) or
its direction (L2)."""

from __future__ import annotations

import torch

from .attack import Attack


class FGSM(Attack):
    """Fast gradient sign method: one full-budget step from the clean image.

    Args:
        model: the victim, images in [0, 1] -> logits.
        eps: the budget in [0, 1] pixel units.
        norm: "linf" or "l2".
        objective: what to optimise (default single-label `CrossEntropy`).
        targeted: step towards `targets` instead of away from them.

    Shapes: images N x 3 x H x W in [0, 1]; targets as the objective takes them.

    Example::

        adversarial = FGSM(model, 4 / 255, objective=MultiLabelMargin(0.5))(images, labels)
    """

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        grad, _, _ = self.gradient(images, targets)
        return self.step(images, grad, self.eps, images)

"""FGSM (Goodfellow et al. 2015): one step of size eps along the gradient's sign (L-inf) or
its direction (L2)."""

from __future__ import annotations

import torch

from .base import Attack


class FGSM(Attack):
    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        grad, _, _ = self.gradient(images, targets)
        if self.norm == "linf":
            step = self.eps * grad.sign()
        else:
            norms = grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)
            step = self.eps * grad / norms
        return self.project(images + step, images)

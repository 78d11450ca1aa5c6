"""Universal adversarial perturbation (Moosavi-Dezfooli et al. 2017): one delta for a whole
image set, learnt on training images and then added, unchanged, to unseen ones.

Found by stochastic projected gradient ascent on delta itself (the SGD-UAP of Shafahi et al.
2020): each mini-batch's summed gradient moves delta one signed step (L-inf) or one normalised
step (L2), then delta is projected back into the eps-ball. The per-image objective is clipped
(see `objectives`), so images that are already fooled stop steering delta and the set's remaining
images get the budget. The step size decays by cosine so the last epochs refine. Each
mini-batch is mirrored with probability 1/2 (`flip`): on the MSRC-v2 probe classifier
(10/255, kappa 1) delta fooled 90 % of its training images but 74 % of unseen ones without
the flips, and 76 % and 77 % with them: they trade memorising the training set for patterns
that carry over.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .attack import Attack, frozen, random_mirror


class UniversalPerturbation(Attack):
    """One perturbation for every image: `fit(images, targets)` learns `delta`
    (1 x 3 x H x W); calling the attack adds it (resized to the images when their size
    differs).

    Args:
        model: the victim, images in [0, 1] -> logits.
        eps: the budget in [0, 1] pixel units.
        norm: "linf" or "l2".
        objective: what to optimise (see `objectives`).
        targeted: learn towards the targets (the attacker's labels for every image) instead
            of away from them (each training image's true or predicted labels).
        epochs: passes over the training images.
        batch_size: images per step of delta.
        alpha: the first step size (default eps / 4), decayed by cosine.
        flip: mirror each mini-batch with probability 1/2 (see the module doc).
        seed: the shuffling and flipping seed.

    Shapes: `fit` and the call take images N x 3 x H x W and targets as the objective takes
    them; the call ignores its targets.

    Example::

        uap = UniversalPerturbation(classifier, 10 / 255, objective=MultiLabelMargin(kappa=1))
        uap.fit(train_images, train_predictions)
        fooled = uap(test_images, test_labels)
    """

    def __init__(
        self,
        model,
        eps: float,
        norm: str = "linf",
        *,
        epochs: int = 10,
        batch_size: int = 16,
        alpha: float | None = None,
        flip: bool = True,
        seed: int = 0,
        **options,
    ) -> None:
        super().__init__(model, eps, norm, **options)
        self.epochs, self.batch_size, self.seed, self.flip = epochs, batch_size, seed, flip
        self.alpha = alpha if alpha is not None else eps / 4
        self.delta: torch.Tensor | None = None

    def fit(self, images: torch.Tensor, targets: torch.Tensor) -> UniversalPerturbation:
        generator = torch.Generator().manual_seed(self.seed)
        delta = torch.zeros_like(images[:1])
        batches = math.ceil(len(images) / self.batch_size)
        total, step = self.epochs * batches, 0
        with frozen(self.model):
            for _ in range(self.epochs):
                order = torch.randperm(len(images), generator=generator)
                for chunk in order.split(self.batch_size):
                    x, y = images[chunk], targets[chunk]
                    if self.flip:
                        x, y = random_mirror(x, y, generator)
                    grad, _, _ = self.gradient((x + delta).clamp(0, 1), y)
                    size = self.alpha * 0.5 * (1 + math.cos(math.pi * step / total))
                    delta = self.shrink(delta + size * self.direction(grad.sum(0, keepdim=True)))
                    step += 1
        self.delta = delta
        return self

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.delta is None:
            raise RuntimeError("UniversalPerturbation: call fit(images, targets) first")
        delta = self.delta.to(images.device)
        if delta.shape[-2:] != images.shape[-2:]:
            delta = F.interpolate(delta, size=images.shape[-2:], mode="bilinear")
        return self.project(images + delta, images)

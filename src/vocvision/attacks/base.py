"""What every attack shares: the threat model, the objective, and leaving the model alone.

Threat model (white-box): the attacker knows the model and its gradients and adds a
perturbation `delta` to images in pixel space [0, 1] (normalisation happens inside our
models), with |delta|_inf <= eps or |delta|_2 <= eps per image. Adversarial images are clipped
to [0, 1] and quantised to 8 bits by truncating delta toward zero, so every pixel change shrinks
or stays: the budget still holds exactly, and a saved PNG reproduces the result.

Objectives by model output:
- N x K logits and N x K multi-hot targets (remove, add or replace labels): a margin on each
  class's logit against the decision threshold's logit, clipped at kappa on the attacker's
  side only. A class that already sits kappa past the threshold the attacker's way stops
  pulling, so the budget goes to the classes still to move (classes far on the other side
  keep their full gradient). With BCE the many easy negative classes dominated the gradient's
  sign and PGD-10 left 15 % of the clean Dice on MSRC; with the margin 0 %.
- N x C logits and N class indices: cross-entropy (single-label; matches torchattacks).
- N x C x H x W logits and N x H x W masks: per-pixel cross-entropy, ignore pixels skipped,
  optionally re-weighted per pixel (SegPGD, CosPGD) so already-fooled pixels stop dominating.
Untargeted attacks push the objective up against the true labels; targeted ones pull it down
towards the attacker's labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..data.sample import IGNORE_INDEX

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


def pixel_weights(
    logits: torch.Tensor,
    masks: torch.Tensor,
    scheme: str | None,
    progress: float,
    targeted: bool = False,
) -> torch.Tensor | None:
    """Per-pixel loss weights (N x H x W) for segmentation attacks, or None.

    A pixel is "done" when it is where the attacker wants it: misclassified (untargeted) or
    at its target class (targeted, `masks` holding the targets). segpgd: done pixels get
    weight `progress / 2`, the others `1 - progress / 2`: early steps move the pixels still to
    move, later ones keep the done ones done (Gu et al. 2022). cospgd: the weight follows the
    cosine similarity between the softmax and the one-hot mask, so confidently done pixels
    stop pulling (Agnihotri & Keuper 2023): the similarity itself when untargeted, one minus
    it when targeted.
    """
    if scheme is None:
        return None
    valid = masks != IGNORE_INDEX
    target = masks.clamp(max=logits.shape[1] - 1)
    if scheme == "segpgd":
        at_mask = logits.argmax(1) == target
        done = at_mask if targeted else ~at_mask
        lam = progress / 2
        return torch.where(done, lam, 1 - lam) * valid
    if scheme == "cospgd":
        one_hot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).float()
        similarity = F.cosine_similarity(logits.softmax(1), one_hot, dim=1).detach()
        return (1 - similarity if targeted else similarity) * valid
    raise ValueError(f"unknown pixel weighting '{scheme}'; choose segpgd, cospgd or None")


def threshold_logit(threshold: float | Sequence[float], logits: torch.Tensor) -> torch.Tensor:
    """The logit at which a multi-label classifier calls a label (one, or one per class)."""
    return torch.as_tensor(threshold, dtype=logits.dtype, device=logits.device).logit()


def objective(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weighting: str | None = None,
    progress: float = 0.0,
    threshold: float | Sequence[float] = 0.5,
    kappa: float = 5.0,
    targeted: bool = False,
) -> torch.Tensor:
    """Per-image loss (N) of `logits` against `targets`, higher = further from the targets;
    see the module docstring. `threshold` (one, or one per class) is the probability at which
    a multi-label classifier calls a label; `targeted` says which way the attacker moves (down
    towards the targets), so which side of the margin is clipped."""
    if logits.ndim == 4:
        per_pixel = F.cross_entropy(
            logits, targets.long(), ignore_index=IGNORE_INDEX, reduction="none"
        )
        weights = pixel_weights(logits.detach(), targets.long(), weighting, progress, targeted)
        if weights is None:
            weights = (targets != IGNORE_INDEX).float()
        return (per_pixel * weights).flatten(1).sum(1) / weights.flatten(1).sum(1).clamp(min=1)
    if targets.ndim == 1:
        return F.cross_entropy(logits, targets.long(), reduction="none")
    cut = threshold_logit(threshold, logits)
    sign = 2 * targets.to(logits.dtype) - 1  # +1 where the label should be on
    wrongness = -sign * (logits - cut)  # > 0: the class is on the wrong side of the cut
    if targeted:
        return wrongness.clamp(min=-kappa).mean(1)
    return wrongness.clamp(max=kappa).mean(1)


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

    `images` are N x 3 x H x W in [0, 1] on the 8-bit grid. `targets` are the true labels
    (untargeted) or the attacker's labels (`targeted=True`). The model's weights, gradients
    and train/eval mode are left as they were.
    """

    def __init__(
        self,
        model: nn.Module,
        eps: float,
        norm: str = "linf",
        targeted: bool = False,
        weighting: str | None = None,
        threshold: float | Sequence[float] = 0.5,
        kappa: float = 5.0,
    ) -> None:
        if norm not in NORMS:
            raise ValueError(f"unknown norm '{norm}'; choose from {NORMS}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.model, self.eps, self.norm = model, eps, norm
        self.targeted, self.weighting = targeted, weighting
        self.threshold, self.kappa = threshold, kappa

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with frozen(self.model):
            adversarial = self.perturb(images.detach(), targets.detach())
        return quantize(adversarial.detach(), images.detach())

    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def gradient(
        self, adversarial: torch.Tensor, targets: torch.Tensor, progress: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gradient of the attacker's goal (to ascend) with respect to the images, and the
        model's logits and the per-image goal at those images (both detached), so that an
        attack that scores its iterates needs no second forward pass."""
        adversarial = adversarial.clone().requires_grad_(True)
        logits = self.model(adversarial)
        loss = self.loss(logits, targets, progress)
        grad = torch.autograd.grad(loss.sum(), adversarial)[0]
        return grad, logits.detach(), loss.detach()

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, progress: float = 0.0):
        """Per-image attacker's goal (to ascend): the objective, negated when targeted."""
        loss = objective(
            logits, targets, self.weighting, progress, self.threshold, self.kappa, self.targeted
        )
        return -loss if self.targeted else loss

    def attained(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-image share (N) of the outputs already where the attacker wants them: labels
        (multi-label: each class on its side of the threshold), or valid pixels. Untargeted:
        away from `targets`; targeted: at them. Decides which iterate is best."""
        if logits.ndim == 2 and targets.ndim == 2:
            at_target = (logits > threshold_logit(self.threshold, logits)) == targets.bool()
            return (at_target if self.targeted else ~at_target).float().mean(1)
        at_target = logits.argmax(1) == targets
        hit = at_target if self.targeted else ~at_target
        if logits.ndim == 2:
            return hit.float()
        valid = targets != IGNORE_INDEX
        return (hit & valid).flatten(1).sum(1) / valid.flatten(1).sum(1).clamp(min=1)

    def project(self, adversarial: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Back into the eps-ball around `images` and the valid pixel range."""
        delta = adversarial - images
        if self.norm == "linf":
            delta = delta.clamp(-self.eps, self.eps)
        else:
            norms = delta.flatten(1).norm(dim=1).clamp(min=1e-12)
            delta = delta * (self.eps / norms).clamp(max=1.0).view(-1, 1, 1, 1)
        return (images + delta).clamp(0, 1)

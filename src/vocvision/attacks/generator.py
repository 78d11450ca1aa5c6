"""A trained perturbation generator (Poursaeed et al. 2018): a small CNN maps each image to
its perturbation in one forward pass, trained against the frozen target model for one goal
(e.g. "every image is labelled cow", "every pixel is background") on training images, then
applied to unseen images.

Design choices against the ways plain autoencoders fail (it still falls short of adding a
class to the MSRC probe classifier's outputs: see the README's attack table):
- the output is a perturbation, not an image: delta = eps * tanh(h) (L-inf) or
  eps * h / |h| (L2), so the budget holds by construction and the net only learns a pattern;
- the loss is the attack's own clipped margin (see `objectives`), so images that already reach
  the goal stop dominating and the net spends its capacity on the hard ones;
- a curriculum over eps: training starts at `start_scale` x eps, where the goal is easy and
  gradients are informative, and shrinks to eps by half-way;
- random flips of the training images, so it learns image-conditioned patterns that transfer;
- optionally (`crop_size`, for fully convolutional targets such as segmenters) random crops:
  cheaper steps, so more of them in the same time, each with the pattern's matching crop.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from .attack import Attack, frozen, random_mirror, spatially

MIN_EPOCHS = 5  # the fewest epochs a time limit leaves (`min_epochs`' default)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)
    )


class PerturbationGenerator(nn.Module):
    """Encoder-decoder with skips (a small U-Net, 0.54 M parameters at width 16, 2.2 M at
    32): image in [0, 1] -> unbounded perturbation logits h of the same size. The
    encoder-decoder works at half resolution and up to 1/16; two last blocks at the input's
    resolution see its upsampled features beside the image itself, so the pattern can follow
    single pixels. On the MSRC-v2 segmenter ("all background", 8/255) that head took unseen
    images from 62 % to 72 % of pixels at the goal."""

    def __init__(self, width: int = 16, pattern_size: tuple[int, int] = (320, 320)) -> None:
        super().__init__()
        w = width
        # An image-independent part (a universal perturbation inside the generator): it learns
        # the shared pattern fast and gives the network a working attack to refine per image.
        self.pattern = nn.Parameter(torch.zeros(1, 3, *pattern_size))
        self.down = nn.ModuleList(
            [_block(3, w, 2), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2), _block(4 * w, 8 * w, 2)]
        )
        self.bottleneck = nn.Sequential(_block(8 * w, 8 * w), _block(8 * w, 8 * w))
        self.up = nn.ModuleList([_block(12 * w, 4 * w), _block(6 * w, 2 * w), _block(3 * w, w)])
        self.full = nn.Sequential(_block(w + 3, w), _block(w, w))
        self.out = nn.Conv2d(w, 3, 1)

    def forward(self, images: torch.Tensor, offset: tuple[int, int] | None = None) -> torch.Tensor:
        """`offset` (top, left): `images` are crops at that place of images of the pattern's
        size, and get the matching crop of the pattern (training on crops)."""
        centred = images * 2 - 1
        skips, x = [], centred
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = self.bottleneck(x)
        for layer, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = layer(torch.cat([x, skip], 1))
        x = F.interpolate(x, size=images.shape[-2:], mode="bilinear")
        h = self.out(self.full(torch.cat([x, centred], 1)))
        pattern = self.pattern
        if offset is not None:
            top, left = offset
            pattern = pattern[..., top : top + h.shape[-2], left : left + h.shape[-1]]
        elif pattern.shape[-2:] != images.shape[-2:]:
            pattern = F.interpolate(pattern, size=images.shape[-2:], mode="bilinear")
        return h + pattern


class GeneratorAttack(Attack):
    """A trained perturbation generator: `fit(images, targets)` trains it for the goal given
    by `targets`; calling the attack then costs one generator forward pass per image
    (targets are ignored: the goal was fixed in training).

    Args:
        model: the victim, images in [0, 1] -> logits (frozen while the generator learns).
        eps: the budget in [0, 1] pixel units.
        norm: "linf" or "l2".
        objective: what to optimise (see `objectives`).
        targeted: learn towards `targets` (the usual use) instead of away from them.
        epochs: passes over the training images.
        batch_size: images per optimiser step.
        lr: Adam's learning rate for the network (the image-independent pattern: 10x).
        start_scale: the eps curriculum's start, as a multiple of eps (down to 1 by half-way).
        width: the generator's base channel count.
        crop_size: train on random square crops of this size (fully convolutional victims).
        max_seconds: a time limit for `fit`: the first step is timed, and when `epochs` over
            all images would not fit, it trains fewer epochs (down to `min_epochs`), then on
            fewer images (a random subset, at least one batch). `trained` says what it did.
        min_epochs: the fewest epochs a time limit may leave.
        seed: initialisation, shuffling, flipping and cropping seed.

    Shapes: `fit` takes images N x 3 x H x W and targets as the objective takes them; the
    call takes images of any size and returns them perturbed.

    Example::

        gen = GeneratorAttack(segmenter, 8 / 255, targeted=True,
                              objective=PixelCrossEntropy("cospgd"))
        gen.fit(train_images, torch.zeros_like(train_masks))   # every pixel -> background
        adversarial = gen(test_images, test_masks)
    """

    def __init__(
        self,
        model,
        eps: float,
        norm: str = "linf",
        *,
        epochs: int = 20,
        batch_size: int = 8,
        lr: float = 2e-3,
        start_scale: float = 2.0,
        width: int = 16,
        crop_size: int | None = None,
        max_seconds: float | None = None,
        min_epochs: int = MIN_EPOCHS,
        seed: int = 0,
        **options,
    ) -> None:
        super().__init__(model, eps, norm, **options)
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.start_scale, self.seed, self.width = start_scale, seed, width
        self.crop_size, self.max_seconds, self.min_epochs = crop_size, max_seconds, min_epochs
        self.generator: PerturbationGenerator | None = None  # built by fit, at the images' size
        self.history: list[float] = []  # mean training loss per epoch
        self.trained = {"epochs": 0, "images": 0}  # what fit did (after a time limit)

    def delta(
        self, images: torch.Tensor, eps: float, offset: tuple[int, int] | None = None
    ) -> torch.Tensor:
        h = self.generator(images, offset)
        if self.norm == "linf":
            return eps * torch.tanh(h)
        return eps * h / h.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)

    def fit(self, images: torch.Tensor, targets: torch.Tensor) -> GeneratorAttack:
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        self.generator = PerturbationGenerator(self.width, tuple(images.shape[-2:]))
        self.generator.to(images.device).train()
        network = [p for name, p in self.generator.named_parameters() if name != "pattern"]
        optimizer = torch.optim.Adam(
            [{"params": network}, {"params": [self.generator.pattern], "lr": 10 * self.lr}],
            lr=self.lr,
        )
        with frozen(self.model):
            epochs, images, targets = self._fitting(images, targets, generator, optimizer)
            total = epochs * math.ceil(len(images) / self.batch_size)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
            step = 0
            for _ in range(epochs):
                losses = []
                for chunk in torch.randperm(len(images), generator=generator).split(
                    self.batch_size
                ):
                    scale = max(1.0, self.start_scale - (self.start_scale - 1) * step / (total / 2))
                    losses.append(
                        self._step(images[chunk], targets[chunk], scale, generator, optimizer)
                    )
                    scheduler.step()
                    step += 1
                self.history.append(sum(losses) / len(losses))
        self.trained = {"epochs": epochs, "images": len(images)}
        self.generator.eval()
        return self

    def _step(self, x, y, scale: float, generator, optimizer) -> float:
        """One optimiser step on a batch (mirrored, cropped); its loss."""
        x, y = random_mirror(x, y, generator)
        offset = None
        if self.crop_size is not None:
            x, y, offset = _random_crop(x, y, self.crop_size, generator)
        adversarial = (x + self.delta(x, self.eps * scale, offset)).clamp(0, 1)
        loss = -self.loss(self.model(adversarial), y).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def _fitting(self, images, targets, generator, optimizer):
        """(epochs, images, targets) that fit `max_seconds`, from timed warm-up steps (real
        steps at the curriculum's start: they are not wasted)."""
        if self.max_seconds is None:
            return self.epochs, images, targets
        batch = torch.arange(min(self.batch_size, len(images)))
        started = time.perf_counter()
        for _ in range(2):  # the second step is timed: the first pays one-off allocations
            lap = time.perf_counter()
            self._step(images[batch], targets[batch], self.start_scale, generator, optimizer)
        per_image = (time.perf_counter() - lap) / len(batch)
        seconds = self.max_seconds - (time.perf_counter() - started)
        fewest = min(self.min_epochs, self.epochs)
        epochs = min(self.epochs, math.floor(seconds / (per_image * len(images))))
        if epochs >= fewest:
            return epochs, images, targets
        count = max(len(batch), math.floor(seconds / (per_image * fewest)))
        if count >= len(images):
            return fewest, images, targets
        keep = torch.randperm(len(images), generator=generator)[:count]
        return fewest, images[keep], targets[keep]

    @torch.no_grad()
    def perturb(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.generator is None:
            raise RuntimeError("GeneratorAttack: call fit(images, targets) first")
        return self.project(images + self.delta(images, self.eps), images)


def _random_crop(
    images: torch.Tensor, targets: torch.Tensor, size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """One random `size` crop of a batch (and of its masks), with its (top, left)."""
    height, width = images.shape[-2:]
    top = int(torch.randint(0, max(1, height - size + 1), (), generator=generator))
    left = int(torch.randint(0, max(1, width - size + 1), (), generator=generator))
    window = (..., slice(top, top + size), slice(left, left + size))
    return images[window], spatially(targets, lambda t: t[window]), (top, left)

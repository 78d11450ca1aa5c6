"""What the attack suite writes beside its results: figures and the PGD images as PNGs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from ... import figures
from ...fileio import atomic_path


class AttackOutputs(figures.FigureFolder):
    """Writes into the run's attacks folder: figures (with captions) and adversarial PNGs."""

    def images(self, name: str, ids: Sequence[str], images: torch.Tensor) -> None:
        """Save 8-bit images (N x 3 x H x W in [0, 1]) as `name`/<id>.png: scoring them
        reproduces the reported numbers."""
        pixels = (images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for image_id, array in zip(ids, pixels, strict=True):
            with atomic_path(self.folder / name / f"{image_id}.png") as tmp:
                Image.fromarray(array).save(tmp, format="PNG")

    def save_pair(self, name: str, clean: torch.Tensor, attacked: torch.Tensor, caption: str):
        """One image clean and attacked side by side (3 x H x W each, in [0, 1]) as
        `name`.png at true scale: one pixel per pixel, no resampling, no amplification, so
        the picture shows what a person would see."""
        pair = torch.cat([clean, torch.ones_like(clean[:, :, :8]), attacked], dim=2)
        pixels = (pair * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        file_name = f"{name}.png"
        with atomic_path(self.folder / file_name) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")
        self.captions[file_name] = caption
        return file_name

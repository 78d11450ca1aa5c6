"""A deterministic synthetic segmentation dataset: the embedded demo and test data.

Each image has a textured background (smooth colour noise plus stripes) and one to three
objects of distinct shape and colour that may overlap. The colours are jittered and the
textures random so that the task needs both shape and colour, like a small VOC.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .convert import write_truth
from .kaggle import write_kaggle
from .sample import ImageSet, Sample, labels_from_mask

SYNTHETIC_CLASSES = ["disc", "square", "triangle", "ring", "cross"]
_BASE_COLOURS = np.array(
    [[220, 60, 50], [50, 160, 70], [60, 90, 220], [230, 200, 40], [170, 70, 200]]
)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    coarse = rng.uniform(60, 190, size=(height // 16 + 2, width // 16 + 2, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR), np.float32)
    period, angle = rng.uniform(6, 20), rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = 18 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    noise = rng.normal(0, 8, size=(height, width, 3))
    return np.clip(smooth + stripes[..., None] + noise, 0, 255).astype(np.uint8)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: int, box: tuple, fill) -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if shape == 0:
        draw.ellipse(box, fill=fill)
    elif shape == 1:
        draw.rectangle(box, fill=fill)
    elif shape == 2:
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif shape == 3:
        draw.ellipse(box, outline=fill, width=max(2, int(r / 2.5)))
    else:
        t = max(2, r / 3)
        draw.rectangle((cx - t, y0, cx + t, y1), fill=fill)
        draw.rectangle((x0, cy - t, x1, cy + t), fill=fill)


def make_synthetic_sample(
    rng: np.random.Generator, sample_id: str, height: int, width: int
) -> Sample:
    """One image with 1-3 random objects, its mask (0 = background, k = class k) and labels."""
    image = Image.fromarray(_background(rng, height, width))
    mask = Image.new("L", (width, height), 0)
    draw_image, draw_mask = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    for shape in rng.choice(len(SYNTHETIC_CLASSES), size=rng.integers(1, 4), replace=False):
        radius = rng.uniform(0.12, 0.3) * min(height, width)
        cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        colour = np.clip(_BASE_COLOURS[shape] + rng.integers(-30, 31, size=3), 0, 255)
        _draw_shape(draw_image, int(shape), box, tuple(int(c) for c in colour))
        _draw_shape(draw_mask, int(shape), box, int(shape) + 1)
    mask_array = np.asarray(mask, dtype=np.uint8).copy()
    labels = labels_from_mask(mask_array, len(SYNTHETIC_CLASSES))
    return Sample(sample_id, np.asarray(image, dtype=np.uint8).copy(), mask_array, labels)


def make_synthetic(
    num_images: int, seed: int = 0, size: tuple[int, int] = (96, 128), first_id: int = 0
) -> ImageSet:
    """`num_images` samples with ids from `first_id`; sizes vary by up to 25 % around `size`."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_images):
        height = int(size[0] * rng.uniform(0.75, 1.25))
        width = int(size[1] * rng.uniform(0.75, 1.25))
        samples.append(make_synthetic_sample(rng, str(first_id + i), height, width))
    return ImageSet(list(SYNTHETIC_CLASSES), samples)


def write_synthetic_dataset(
    root, train_images: int, test_images: int, seed: int = 0, size: tuple[int, int] = (96, 128)
) -> None:
    """A Kaggle-layout synthetic dataset: train/, test/ (labels hidden) and truth/."""
    write_kaggle(make_synthetic(train_images, seed=seed, size=size), root, "train")
    test = make_synthetic(test_images, seed=seed + 1, size=size, first_id=100_000)
    write_kaggle(test, root, "test", hide_labels=True)
    write_truth(test, root)

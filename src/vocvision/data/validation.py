"""Checks on input data; every failure names the file and the problem."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import VocvisionError
from .sample import IGNORE_INDEX

log = logging.getLogger(__name__)


class DataError(VocvisionError, ValueError):
    """Input data is missing, unreadable or inconsistent. The message names the file."""


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return path


def as_rgb(image: np.ndarray, source: Path | str) -> np.ndarray:
    """Turn a grayscale, gray+alpha or RGBA array into H x W x 3 uint8 RGB (logged)."""
    if image.ndim == 2:
        log.info("%s: grayscale image converted to RGB", source)
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] in (2, 4):
        log.info("%s: image with alpha channel converted to RGB (alpha dropped)", source)
        image = image[..., :-1]
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise DataError(f"{source}: expected an H x W x 3 image, got shape {image.shape}")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def read_image_file(path: Path) -> np.ndarray:
    """Read a JPEG/PNG as RGB uint8; palette, grayscale and RGBA images are converted."""
    require_file(path)
    try:
        with Image.open(path) as img:
            if img.mode != "RGB":
                log.info("%s: %s image converted to RGB", path, img.mode)
                img = img.convert("RGB")
            return np.asarray(img, dtype=np.uint8).copy()
    except (OSError, SyntaxError) as err:
        raise DataError(f"{path}: unreadable image ({err})") from err


def read_npy(path: Path) -> np.ndarray:
    require_file(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable .npy file ({err})") from err


def check_mask(
    mask: np.ndarray, image: np.ndarray, num_classes: int, source: Path | str
) -> np.ndarray:
    """Validate a class-index mask against its image and the class count; return it as uint8."""
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise DataError(f"{source}: mask must be H x W class indices, got shape {mask.shape}")
    if mask.shape != image.shape[:2]:
        raise DataError(
            f"{source}: mask size {mask.shape[1]}x{mask.shape[0]} does not match its image "
            f"size {image.shape[1]}x{image.shape[0]}"
        )
    if not np.issubdtype(mask.dtype, np.integer):
        if not np.all(np.mod(mask, 1) == 0):
            raise DataError(f"{source}: mask holds non-integer values")
        mask = mask.astype(np.int64)
    bad = np.unique(mask[((mask < 0) | (mask > num_classes)) & (mask != IGNORE_INDEX)])
    if bad.size:
        raise DataError(
            f"{source}: mask values {bad[:5].tolist()} outside the class range 0..{num_classes} "
            f"(and ignore {IGNORE_INDEX})"
        )
    return mask.astype(np.uint8)

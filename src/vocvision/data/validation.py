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
    return np.ascontiguousarray(to_uint8(_non_empty(image, source), source))


def to_uint8(image: np.ndarray, source: Path | str) -> np.ndarray:
    """Pixels as 8 bits: uint8 as they are; 16-bit images scaled from 0..65535 (logged);
    floats in 0..1 scaled, in 0..255 kept; booleans 0/255. Other integer types, or floats
    outside 0..255, are refused: their range cannot be guessed."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        log.info("%s: 16-bit image scaled to 8 bits (value / 257)", source)
        return np.round(image / 257.0).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise DataError(f"{source}: image holds NaN or infinite values")
        low, high = (float(image.min()), float(image.max())) if image.size else (0.0, 0.0)
        if low >= 0 and high <= 1:
            return np.round(image * 255).astype(np.uint8)
        if low >= 0 and high <= 255:
            return np.round(image).astype(np.uint8)
        raise DataError(f"{source}: float image values {low:g}..{high:g}; expected 0..1 or 0..255")
    if (
        np.issubdtype(image.dtype, np.integer)
        and image.size
        and image.min() >= 0
        and image.max() <= 255
    ):
        return image.astype(np.uint8)
    raise DataError(
        f"{source}: {image.dtype} image with values outside 0..255; save it as uint8 (or uint16)"
    )


def read_image_file(path: Path) -> np.ndarray:
    """Read a JPEG/PNG as RGB uint8; palette, grayscale and RGBA images are converted."""
    require_file(path)
    try:
        with Image.open(path) as img:
            return pil_to_rgb(img, path)
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: unreadable image ({err})") from err


def pil_to_rgb(img: Image.Image, source: Path | str) -> np.ndarray:
    """A PIL image as H x W x 3 uint8 RGB: 16/32-bit grey scaled (PIL's convert("RGB") would
    clip it to white), other modes converted (logged)."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        pixels = to_uint8(_as_uint16(np.asarray(img), source), source)
        return _non_empty(np.repeat(pixels[..., None], 3, axis=2), source)
    if img.mode != "RGB":
        log.info("%s: %s image converted to RGB", source, img.mode)
        img = img.convert("RGB")
    return _non_empty(np.asarray(img, dtype=np.uint8).copy(), source)


def _non_empty(image: np.ndarray, source: Path | str) -> np.ndarray:
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise DataError(f"{source}: empty image ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


def _as_uint16(pixels: np.ndarray, path: Path | str) -> np.ndarray:
    """The grey values of a 16/32-bit PIL image as uint16 (values must fit 16 bits)."""
    if pixels.dtype == np.uint16 or pixels.dtype.kind == "f":
        return pixels
    if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
        raise DataError(f"{path}: grey values outside 0..65535")
    return pixels.astype(np.uint16)


def read_npy(path: Path) -> np.ndarray:
    """An array from a .npy file (never unpickled); empty or corrupt files are a DataError."""
    require_file(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes), not a .npy array")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: unreadable .npy file ({err})") from err
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: a .npz archive where a .npy array was expected")
    return array


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

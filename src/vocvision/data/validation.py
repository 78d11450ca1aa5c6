"""Checks on input data; every failure names the file and the problem."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

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


class PixelNotes:
    """Collects the pixel conversions of one dataset's images while open (`with
    PixelNotes(folder):`) and logs each kind once, as a warning naming the folder, how many
    images and one of them; each message is logged once per process, however often the
    dataset is read. A conversion outside any PixelNotes is logged for its image."""

    _open: ClassVar[list[PixelNotes]] = []
    _said: ClassVar[set[str]] = set()

    def __init__(self, source: Path | str) -> None:
        self.source, self.seen = source, {}

    def __enter__(self) -> PixelNotes:
        PixelNotes._open.append(self)
        return self

    def __exit__(self, *exc) -> None:
        PixelNotes._open.remove(self)
        for what, (count, example) in self.seen.items():
            warn_once(f"{self.source}: {count} image(s) {what} (e.g. {example})")

    @classmethod
    def note(cls, source: Path | str, what: str) -> None:
        """Record that `source` (one image) was converted as `what` says."""
        if not cls._open:
            warn_once(f"{source}: image {what}")
            return
        seen = cls._open[-1].seen
        count, example = seen.get(what, (0, Path(str(source)).name))
        seen[what] = (count + 1, example)


def warn_once(message: str) -> None:
    """Log `message` as a warning, once per process (data is read again and again in a job)."""
    if message not in PixelNotes._said:
        PixelNotes._said.add(message)
        log.warning(message)


def as_rgb(image: np.ndarray, source: Path | str) -> np.ndarray:
    """Turn a grayscale, gray+alpha or RGBA array into H x W x 3 uint8 RGB (noted)."""
    if image.ndim == 2:
        PixelNotes.note(source, "grey, repeated to RGB")
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] in (2, 4):
        PixelNotes.note(source, "with an alpha channel, dropped")
        image = image[..., :-1]
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise DataError(f"{source}: expected an H x W x 3 image, got shape {image.shape}")
    return np.ascontiguousarray(to_uint8(_non_empty(image, source), source))


def to_uint8(image: np.ndarray, source: Path | str) -> np.ndarray:
    """Pixels as 8 bits, one rule for every reader (each conversion noted, see PixelNotes):
    uint8 as it is; 16-bit scaled from 0..65535 (value / 257), unless no value exceeds 255
    (8-bit values stored in 16 bits: kept); floats in 0..1 scaled by 255, in 0..255 rounded;
    booleans 0/255; other integers kept when within 0..255. Anything else (NaN, negative or
    larger values) is refused with the file named: its range cannot be guessed."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        PixelNotes.note(source, "of booleans, read as 0/255")
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.floating):
        return _float_to_uint8(image, source)
    if not np.issubdtype(image.dtype, np.integer):
        raise DataError(f"{source}: {image.dtype} pixels; expected uint8, uint16 or float")
    low, high = (int(image.min()), int(image.max())) if image.size else (0, 0)
    if image.dtype == np.uint16 and high > 255:
        PixelNotes.note(source, "of 16 bits, scaled to 8 bits (value / 257)")
        return np.round(image / 257.0).astype(np.uint8)
    if low >= 0 and high <= 255:
        PixelNotes.note(source, f"of {image.dtype} holding 0..255, kept as 8 bits")
        return image.astype(np.uint8)
    raise DataError(
        f"{source}: {image.dtype} image with values {low}..{high}, outside 0..255; "
        "save it as uint8 (or uint16)"
    )


def _float_to_uint8(image: np.ndarray, source: Path | str) -> np.ndarray:
    if not np.isfinite(image).all():
        raise DataError(f"{source}: image holds NaN or infinite values")
    low, high = (float(image.min()), float(image.max())) if image.size else (0.0, 0.0)
    if low >= 0 and high <= 1:
        PixelNotes.note(source, "of floats in 0..1, scaled to 0..255")
        return np.round(image * 255).astype(np.uint8)
    if low >= 0 and high <= 255:
        PixelNotes.note(source, "of floats in 0..255, rounded to 8 bits")
        return np.round(image).astype(np.uint8)
    raise DataError(f"{source}: float image values {low:g}..{high:g}; expected 0..1 or 0..255")


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
        PixelNotes.note(source, f"in PIL mode {img.mode}, converted to RGB")
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

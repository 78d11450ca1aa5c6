"""labelmap.json, the index-PNG masks it describes, and the VOC defaults without one.

Shared by the folder layouts that keep masks as PNGs (VOC devkit, images + masks):
`{"classes": [...], "background": 0 | null, "ignore_index": 255 | null}`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import atomic_path, write_json
from .sample import IGNORE_INDEX, MaskCoding
from .validation import DataError, check_mask

LABELMAP_FILE = "labelmap.json"
VOC_CLASSES = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]


@dataclass(frozen=True)
class Labelmap:
    """What a mask PNG's values mean: `names[i]` is the class of value `values[i]` (by
    default value i), background included; `background` is the background's index in
    `names` (None: no background class), `ignore` the unlabelled value."""

    names: tuple[str, ...]
    background: int | None = 0
    ignore: int | None = IGNORE_INDEX
    values: tuple[int, ...] | None = None

    @property
    def mask_values(self) -> tuple[int, ...]:
        return self.values if self.values is not None else tuple(range(len(self.names)))

    @property
    def classes(self) -> list[str]:
        """The class names, background excluded (vocvision's 1..K)."""
        return [c for i, c in enumerate(self.names) if i != self.background]

    @property
    def foreground_values(self) -> list[int]:
        """The mask values of the classes, background excluded (ours 1..K, in order)."""
        return [v for i, v in enumerate(self.mask_values) if i != self.background]

    @property
    def coding(self) -> MaskCoding:
        background = None if self.background is None else self.mask_values[self.background]
        return MaskCoding((background, *self.foreground_values), self.ignore)

    def to_dict(self) -> dict:
        spec = {"classes": list(self.names), "background": self.background,
                "ignore_index": self.ignore}  # fmt: skip
        return spec if self.values is None else {**spec, "values": list(self.values)}

    def read_mask(self, path: Path, image: np.ndarray) -> np.ndarray:
        """The mask PNG at `path` in vocvision's labels, checked against its image."""
        raw = read_index_png(path)
        self._check_values(raw, path)
        return check_mask(self._lut()[raw], image, len(self.classes), path)

    def _lut(self) -> np.ndarray:
        """Source mask values -> ours (0 = background, 1..K, 255 = ignore); values that name
        no class map to a sentinel `check_mask` reports (`_check_values` names them first)."""
        lut = np.full(256, 254, dtype=np.int64)
        foreground = self.foreground_values
        lut[foreground] = np.arange(1, len(foreground) + 1)
        if self.background is not None:
            lut[self.mask_values[self.background]] = 0
        if self.ignore is not None:
            lut[self.ignore] = IGNORE_INDEX
        return lut

    def _check_values(self, raw: np.ndarray, path: Path) -> None:
        """A DataError naming the values found that are neither a class nor the ignore value."""
        allowed = list(self.mask_values) + ([] if self.ignore is None else [self.ignore])
        bad = np.unique(raw[~np.isin(raw, allowed)])
        if bad.size:
            extra = "" if self.ignore is None else f" (and ignore {self.ignore})"
            known = f"0..{len(self.names) - 1}" if self.values is None else str(list(self.values))
            raise DataError(
                f"{path}: mask values {bad[:5].tolist()} outside the labelmap's {known}{extra}"
            )


VOC_LABELMAP = Labelmap(tuple(VOC_CLASSES))


def read_labelmap(root: Path, default: Labelmap | None = VOC_LABELMAP) -> Labelmap | None:
    """`root/labelmap.json`, checked; `default` when there is none."""
    path = root / LABELMAP_FILE
    if not path.is_file():
        return default
    try:
        spec = json.loads(path.read_text())
        classes, background = list(spec["classes"]), spec.get("background")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: expected {{'classes': [...], 'background': ..}} ({err})") from err
    ignore, values = spec.get("ignore_index"), spec.get("values")
    _check_labelmap(path, classes, background, ignore)
    if values is not None:
        _check_values_list(path, values, len(classes), ignore)
        values = tuple(values)
    elif ignore is not None and ignore < len(classes):
        raise DataError(
            f"{path}: ignore_index {ignore} is also the index of class '{classes[ignore]}'"
        )
    return Labelmap(tuple(classes), background, ignore, values)


def _check_values_list(path: Path, values, count: int, ignore: int | None) -> None:
    """The optional 'values' (each class's mask value): one distinct 0..255 integer per
    class, none of them the ignore value."""
    whole = isinstance(values, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values
    )
    if not whole or len(values) != count or len(set(values)) != count:
        raise DataError(
            f"{path}: 'values' must list {count} distinct mask values 0..255, one per class, "
            f"got {values!r}"
        )
    if ignore in values:
        raise DataError(f"{path}: ignore_index {ignore} is also a class's value")


def _check_labelmap(path: Path, classes: list, background, ignore) -> None:
    """Class names unique strings; background a class index or null; the ignore value a
    mask value (0..255) that no class uses."""
    if not classes or not all(isinstance(c, str) and c.strip() for c in classes):
        raise DataError(f"{path}: 'classes' must be a non-empty list of names, got {classes!r}")
    repeated = sorted(c for c, n in Counter(classes).items() if n > 1)
    if repeated:
        raise DataError(f"{path}: class names listed more than once: {repeated}")
    if len(classes) > IGNORE_INDEX:
        raise DataError(f"{path}: {len(classes)} classes; 8-bit masks hold at most 255")
    for key, value in (("background", background), ("ignore_index", ignore)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise DataError(f"{path}: '{key}' must be an integer index or null, got {value!r}")
    if background is not None and not 0 <= background < len(classes):
        raise DataError(f"{path}: background index {background} outside 0..{len(classes) - 1}")
    if ignore is not None and not 0 <= ignore <= 255:
        raise DataError(f"{path}: ignore_index {ignore} is not an 8-bit mask value (0..255)")


def read_index_png(path: Path) -> np.ndarray:
    """Class indices of a palette or grayscale PNG; never converts colours to RGB."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L", "I", "I;16"):
                raise DataError(
                    f"{path}: mask is a {img.mode} image; expected a palette or grey index PNG "
                    "(one class value per pixel, not colours)"
                )
            return np.asarray(img).astype(np.int64)
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: unreadable mask ({err})") from err


def write_labelmap(root: Path, classes: list[str], has_background: bool) -> None:
    """labelmap.json for masks written by `write_mask_png` (background 0 when the set has
    one, the classes after it, 255 = ignore)."""
    names = (["background"] if has_background else []) + classes
    labelmap = Labelmap(tuple(names), 0 if has_background else None)
    write_json(root / LABELMAP_FILE, labelmap.to_dict())


def write_mask_png(mask: np.ndarray, path: Path, has_background: bool) -> None:
    """A mask in vocvision's labels as a VOC-palette PNG in the values `write_labelmap`
    describes (a set without background: 0..K-1, ignore stays 255)."""
    if not has_background:
        mask = np.where(mask == IGNORE_INDEX, IGNORE_INDEX, mask.astype(np.int64) - 1)
    png = Image.fromarray(mask.astype(np.uint8), mode="P")
    png.putpalette(voc_palette())
    with atomic_path(path) as tmp:
        png.save(tmp, format="PNG")


def voc_palette() -> list[int]:
    """The standard VOC colour map as a flat 768-entry PIL palette (255 = cream border)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette

"""The PASCAL VOC devkit layout.

JPEGImages/<id>.jpg
SegmentationClass/<id>.png          palette PNG; its indices are the class ids
ImageSets/Segmentation/<split>.txt  one id a line
labelmap.json                       optional: {"classes": [...], "background": 0|null,
                                               "ignore_index": 255|null}
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import atomic_path, write_json, write_text
from .sample import IGNORE_INDEX, ImageSet, MaskCoding, Sample, labels_from_mask
from .validation import DataError, check_mask, read_image_file

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
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def is_voc_layout(root: str | Path) -> bool:
    return (Path(root) / "JPEGImages").is_dir()


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


def read_labelmap(root: Path) -> tuple[list[str], int | None, int | None]:
    """(class names in index order, background index, ignore index); VOC defaults if absent."""
    path = root / "labelmap.json"
    if not path.is_file():
        return VOC_CLASSES, 0, IGNORE_INDEX
    try:
        spec = json.loads(path.read_text())
        classes, background = list(spec["classes"]), spec.get("background")
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(f"{path}: expected {{'classes': [...], 'background': ..}} ({err})") from err
    ignore = spec.get("ignore_index")
    _check_labelmap(path, classes, background, ignore)
    return classes, background, ignore


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
    if ignore is not None and ignore < len(classes):
        raise DataError(
            f"{path}: ignore_index {ignore} is also the index of class '{classes[ignore]}'"
        )


def _index_lut(num_source: int, background: int | None, ignore: int | None) -> np.ndarray:
    """Lookup table from source mask values to ours (0 = background, 1..K, 255 = ignore).

    Values that name no class map to a sentinel that `check_mask` reports as out of range.
    """
    lut = np.full(256, 254, dtype=np.int64)
    foreground = [v for v in range(num_source) if v != background]
    lut[foreground] = np.arange(1, len(foreground) + 1)
    if background is not None:
        lut[background] = 0
    if ignore is not None:
        lut[ignore] = IGNORE_INDEX
    return lut


def read_voc(root: str | Path, split: str = "train") -> ImageSet:
    """Read one split of a VOC-layout folder. Masks are optional (then labels are too)."""
    root = Path(root)
    list_path = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not list_path.is_file():
        found = sorted(p.stem for p in list_path.parent.glob("*.txt"))
        raise DataError(f"{list_path}: split '{split}' not found (available: {found or 'none'})")
    ids = [line.strip() for line in list_path.read_text().splitlines() if line.strip()]
    if not ids:
        raise DataError(f"{list_path}: empty split (no ids)")
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise DataError(f"{list_path}: ids listed more than once: {repeated[:5]}")
    class_names, background, ignore = read_labelmap(root)
    lut = _index_lut(len(class_names), background, ignore)
    classes = [c for i, c in enumerate(class_names) if i != background]
    samples = []
    for sample_id in ids:
        image = read_image_file(_find_image(root, sample_id))
        mask = labels = None
        mask_path = root / "SegmentationClass" / f"{sample_id}.png"
        if mask_path.is_file():
            raw = _read_index_png(mask_path)
            _check_values(raw, len(class_names), ignore, mask_path)
            mask = check_mask(lut[raw], image, len(classes), mask_path)
            labels = labels_from_mask(mask, len(classes))
        samples.append(Sample(sample_id, image, mask, labels))
    foreground = [v for v in range(len(class_names)) if v != background]
    coding = MaskCoding((background, *foreground), ignore)
    return ImageSet(classes, samples, background is not None, coding)


def _check_values(raw: np.ndarray, num_values: int, ignore: int | None, path: Path) -> None:
    """Raise a DataError naming the mask values that are neither a labelmap index nor the
    ignore value (the values found, not what they would map to)."""
    allowed = np.arange(num_values) if ignore is None else np.append(np.arange(num_values), ignore)
    bad = np.unique(raw[~np.isin(raw, allowed)])
    if bad.size:
        extra = "" if ignore is None else f" (and ignore {ignore})"
        raise DataError(
            f"{path}: mask values {bad[:5].tolist()} outside the labelmap's "
            f"0..{num_values - 1}{extra}"
        )


def _find_image(root: Path, sample_id: str) -> Path:
    for suffix in IMAGE_SUFFIXES:
        path = root / "JPEGImages" / f"{sample_id}{suffix}"
        if path.is_file():
            return path
    raise DataError(f"{root / 'JPEGImages' / sample_id}.jpg: image file not found")


def _read_index_png(path: Path) -> np.ndarray:
    """Class indices of a palette or grayscale PNG; never converts colours to RGB."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L", "I", "I;16"):
                raise DataError(f"{path}: mask is a {img.mode} image; expected palette/index PNG")
            return np.asarray(img).astype(np.int64)
    except OSError as err:
        raise DataError(f"{path}: unreadable mask ({err})") from err


def write_voc(images: ImageSet, root: str | Path, split: str) -> None:
    """Write `images` as a VOC split: JPEG quality 95 without chroma subsampling, palette
    masks and labelmap.json."""
    root = Path(root)
    palette = voc_palette()
    for sample in images.samples:
        with atomic_path(root / "JPEGImages" / f"{sample.id}.jpg") as tmp:
            Image.fromarray(sample.image).save(tmp, format="JPEG", quality=95, subsampling=0)
        if sample.mask is not None:
            mask = sample.mask if images.has_background else _drop_background(sample.mask)
            png = Image.fromarray(mask, mode="P")
            png.putpalette(palette)
            with atomic_path(root / "SegmentationClass" / f"{sample.id}.png") as tmp:
                png.save(tmp, format="PNG")
    write_text(root / "ImageSets" / "Segmentation" / f"{split}.txt", "\n".join(images.ids) + "\n")
    classes = (["background"] if images.has_background else []) + images.classes
    write_json(
        root / "labelmap.json",
        {
            "classes": classes,
            "background": 0 if images.has_background else None,
            "ignore_index": IGNORE_INDEX,
        },
    )


def _drop_background(mask: np.ndarray) -> np.ndarray:
    """Our 1..K back to a background-free set's 0..K-1 (ignore stays 255)."""
    return np.where(mask == IGNORE_INDEX, IGNORE_INDEX, mask.astype(np.int64) - 1).astype(np.uint8)

"""The PASCAL VOC devkit layout.

JPEGImages/<id>.jpg
SegmentationClass/<id>.png          palette PNG; its indices are the class ids
ImageSets/Segmentation/<split>.txt  one id a line
labelmap.json                       optional: {"classes": [...], "background": 0|null,
                                               "ignore_index": 255|null}
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from ..fileio import atomic_path, write_text
from .labelmap import read_labelmap, write_labelmap, write_mask_png
from .sample import ImageSet, Sample, labels_from_mask
from .validation import DataError, PixelNotes, read_image_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def is_voc_layout(root: str | Path) -> bool:
    return (Path(root) / "JPEGImages").is_dir()


def read_id_list(list_path: Path, split: str) -> list[str]:
    """The ids of a split file (one a line), checked: present, not empty, none twice."""
    if not list_path.is_file():
        found = sorted(p.stem for p in list_path.parent.glob("*.txt"))
        raise DataError(f"{list_path}: split '{split}' not found (available: {found or 'none'})")
    try:
        lines = list_path.read_text().splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{list_path}: not a text file of ids ({err})") from err
    ids = [line.strip() for line in lines if line.strip()]
    if not ids:
        raise DataError(f"{list_path}: empty split (no ids)")
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise DataError(f"{list_path}: ids listed more than once: {repeated[:5]}")
    return ids


def read_voc(root: str | Path, split: str = "train") -> ImageSet:
    """Read one split of a VOC-layout folder. Masks are optional (then labels are too)."""
    root = Path(root)
    ids = read_id_list(root / "ImageSets" / "Segmentation" / f"{split}.txt", split)
    labelmap = read_labelmap(root)
    samples = []
    with PixelNotes(root / "JPEGImages"):
        for sample_id in ids:
            image = read_image_file(_find_image(root, sample_id))
            mask = labels = None
            mask_path = root / "SegmentationClass" / f"{sample_id}.png"
            if mask_path.is_file():
                mask = labelmap.read_mask(mask_path, image)
                labels = labels_from_mask(mask, len(labelmap.classes))
            samples.append(Sample(sample_id, image, mask, labels))
    return ImageSet(labelmap.classes, samples, labelmap.background is not None, labelmap.coding)


def _find_image(root: Path, sample_id: str) -> Path:
    for suffix in IMAGE_SUFFIXES:
        path = root / "JPEGImages" / f"{sample_id}{suffix}"
        if path.is_file():
            return path
    raise DataError(f"{root / 'JPEGImages' / sample_id}.jpg: image file not found")


def write_voc(images: ImageSet, root: str | Path, split: str) -> None:
    """Write `images` as a VOC split: JPEG quality 95 without chroma subsampling, palette
    masks and labelmap.json."""
    root = Path(root)
    for sample in images.samples:
        with atomic_path(root / "JPEGImages" / f"{sample.id}.jpg") as tmp:
            Image.fromarray(sample.image).save(tmp, format="JPEG", quality=95, subsampling=0)
        if sample.mask is not None:
            path = root / "SegmentationClass" / f"{sample.id}.png"
            write_mask_png(sample.mask, path, images.has_background)
    write_text(root / "ImageSets" / "Segmentation" / f"{split}.txt", "\n".join(images.ids) + "\n")
    write_labelmap(root, images.classes, images.has_background)

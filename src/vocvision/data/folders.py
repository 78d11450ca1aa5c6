"""Two plain layouts: images beside masks of the same stem (smp's examples, many Kaggle sets),
and a folder of images alone (something to predict).

DATA/images/<stem>.jpg|png|...   the images
DATA/masks/<stem>.png            index or palette PNG; an image without one is a test image
DATA/labelmap.json               optional, as in the VOC layout (see `data.labelmap`)
DATA/splits/<split>.txt          optional: one stem a line; without them, the images with a
                                 mask are split 'train' and the others split 'test'
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from ..fileio import atomic_path, write_text
from .labelmap import Labelmap, read_index_png, read_labelmap, write_labelmap, write_mask_png
from .sample import IGNORE_INDEX, ImageSet, Sample, labels_from_mask
from .validation import DataError, PixelNotes, read_image_file, warn_once
from .voc import read_id_list

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
IMAGES, MASKS, SPLITS = "images", "masks", "splits"


def is_folders_layout(root: str | Path) -> bool:
    """An images/ folder (with masks/ beside it, or alone: then every image is a test image)."""
    return (Path(root) / IMAGES).is_dir()


def is_image_folder(root: str | Path) -> bool:
    """A folder that holds image files itself (no layout: images to predict)."""
    root = Path(root)
    return root.is_dir() and any(_is_image(p) for p in root.iterdir())


def image_files(folder: Path) -> dict[str, Path]:
    """Image files of `folder` by stem (sorted); two files of one stem are refused."""
    files: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if _is_image(p)):
        if path.stem in files:
            raise DataError(f"{path}: two images named {path.stem} ({files[path.stem].name})")
        files[path.stem] = path
    return files


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def read_folders(root: str | Path, split: str = "train") -> ImageSet:
    """Split `split` of an images + masks folder (see the module doc)."""
    root = Path(root)
    images, masks = image_files(root / IMAGES), _mask_files(root)
    orphans = sorted(set(masks) - set(images))
    if orphans:
        log.warning("%s: %d masks have no image, e.g. %s", root / MASKS, len(orphans), orphans[0])
    ids = _split_ids(root, split, images, masks)
    labelmap = read_labelmap(root, default=None) or _inferred_labelmap(root, masks)
    samples = []
    with PixelNotes(root / IMAGES):
        for sample_id in ids:
            if sample_id not in images:
                raise DataError(f"{root / SPLITS / split}.txt: {sample_id} has no image in images/")
            image = read_image_file(images[sample_id])
            mask = labels = None
            if sample_id in masks:
                mask = labelmap.read_mask(masks[sample_id], image)
                labels = labels_from_mask(mask, len(labelmap.classes))
            samples.append(Sample(sample_id, image, mask, labels))
    return ImageSet(labelmap.classes, samples, labelmap.background is not None, labelmap.coding)


def _mask_files(root: Path) -> dict[str, Path]:
    """The mask PNGs by stem; a mask stored as JPEG (or another lossy format) is refused:
    compression changes class values."""
    folder = root / MASKS
    if not folder.is_dir():
        return {}
    masks = {}
    for path in sorted(p for p in folder.iterdir() if _is_image(p)):
        if path.suffix.lower() != ".png":
            raise DataError(f"{path}: masks must be PNG files of class values ({path.suffix} "
                            "images change the values they store)")  # fmt: skip
        masks[path.stem] = path
    return masks


def _split_ids(root: Path, split: str, images: dict, masks: dict) -> list[str]:
    """The split's stems: from splits/<split>.txt, else 'train' = masked, 'test' = the rest."""
    if (root / SPLITS).is_dir():
        return read_id_list(root / SPLITS / f"{split}.txt", split)
    if split == "train":
        ids = [i for i in images if i in masks]
        if not ids:
            raise DataError(f"{root / MASKS}: no image has a mask, so there is nothing to train on")
        return ids
    if split == "test":
        return [i for i in images if i not in masks]
    raise DataError(
        f"{root}: split '{split}' not found (without {SPLITS}/, the images with a mask are "
        "split 'train' and those without one split 'test')"
    )


def _inferred_labelmap(root: Path, masks: dict[str, Path]) -> Labelmap:
    """Without labelmap.json: masks of only 0 and 255 are binary (255 the foreground), else
    0 = background, 255 = ignore and the values 1..M found are classes class_1..class_M
    (said once as a warning: a labelmap.json names them). No masks at all: no classes (the
    images are to be predicted by a run that has them)."""
    found: set[int] = set()
    for path in masks.values():
        found |= set(np.unique(read_index_png(path)).tolist())
    if not found:
        return Labelmap(("background",))
    if found <= {0, IGNORE_INDEX}:
        labelmap = Labelmap(("background", "foreground"), 0, None, (0, IGNORE_INDEX))
        said = "binary, 0 = background and 255 = foreground"
    else:
        top = max(found - {IGNORE_INDEX})
        names = ("background", *(f"class_{v}" for v in range(1, top + 1)))
        labelmap = Labelmap(names)
        said = f"0 = background, 1..{top} = class_1..class_{top}, 255 = ignore"
    warn_once(f"{root}: no labelmap.json, so the masks are read as {said}; write "
               "labelmap.json to name the classes")  # fmt: skip
    return labelmap


def read_image_folder(root: str | Path, split: str = "test") -> ImageSet:
    """The images of a plain folder as an unlabelled 'test' split (no classes: the run that
    predicts them gives its own)."""
    root = Path(root)
    if split != "test":
        raise DataError(f"{root}: a folder of images has one split, 'test' (asked for '{split}')")
    with PixelNotes(root):
        samples = [Sample(i, read_image_file(p)) for i, p in image_files(root).items()]
    return ImageSet([], samples)


def write_folders(images: ImageSet, root: str | Path, split: str) -> None:
    """Write `images` into an images + masks folder: PNG images, palette masks,
    labelmap.json and splits/<split>.txt."""
    root = Path(root)
    for sample in images.samples:
        with atomic_path(root / IMAGES / f"{sample.id}.png") as tmp:
            Image.fromarray(sample.image).save(tmp, format="PNG")
        if sample.mask is not None:
            write_mask_png(sample.mask, root / MASKS / f"{sample.id}.png", images.has_background)
    write_text(root / SPLITS / f"{split}.txt", "\n".join(images.ids) + "\n")
    write_labelmap(root, images.classes, images.has_background)

"""Images with their labels in a CSV, for classification only (fastai's `from_csv`, the
Planet dataset's convention).

DATA/images/<file>   the images
DATA/labels.csv      columns `image,labels`: the image's file name (or stem) and its class
                     names separated by spaces (an empty cell: none of the classes)

The classes are the names found in the CSV, sorted. The CSV's images are split 'train', the
other images of images/ split 'test'. There are no masks: a run trains the classifier only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..fileio import atomic_path
from .folders import IMAGES, image_files
from .sample import ImageSet, Sample
from .validation import DataError, PixelNotes, read_image_file, require_file

LABELS_FILE = "labels.csv"


def is_labels_csv_layout(root: str | Path) -> bool:
    return (Path(root) / LABELS_FILE).is_file() and (Path(root) / IMAGES).is_dir()


def read_labels_table(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """(classes, {image stem: its class names}) of labels.csv, checked."""
    path = require_file(root / LABELS_FILE)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: unreadable CSV ({err})") from err
    missing = [c for c in ("image", "labels") if c not in table.columns]
    if missing:
        raise DataError(f"{path}: needs the columns image,labels; {missing} missing "
                        f"(got {list(table.columns)[:5]})")  # fmt: skip
    if table.empty:
        raise DataError(f"{path}: no rows")
    rows: dict[str, list[str]] = {}
    for number, (name, labels) in enumerate(
        zip(table["image"], table["labels"], strict=True), start=2
    ):
        stem = Path(name.strip()).stem
        if not stem:
            raise DataError(f"{path}: line {number} names no image")
        if stem in rows:
            raise DataError(f"{path}: line {number}: image {name} is listed twice")
        rows[stem] = labels.split()
    classes = sorted({c for names in rows.values() for c in names})
    if not classes:
        raise DataError(f"{path}: no row names a class")
    return classes, rows


def read_labels_csv(root: str | Path, split: str = "train") -> ImageSet:
    """Split 'train' (the CSV's images, labelled) or 'test' (the others) of the layout."""
    root = Path(root)
    classes, rows = read_labels_table(root)
    images = image_files(root / IMAGES)
    if split == "train":
        absent = [stem for stem in rows if stem not in images]
        if absent:
            raise DataError(f"{root / LABELS_FILE}: image {absent[0]} is not in {IMAGES}/ "
                            f"({len(absent)} rows name a missing image)")  # fmt: skip
        ids = list(rows)
    elif split == "test":
        ids = [stem for stem in images if stem not in rows]
    else:
        raise DataError(f"{root}: split '{split}' not found (a labels.csv folder has 'train', "
                        "the images in the CSV, and 'test', the others)")  # fmt: skip
    samples = []
    with PixelNotes(root / IMAGES):
        for stem in ids:
            labels = None
            if stem in rows:
                labels = np.isin(classes, rows[stem]).astype(np.uint8)
            samples.append(Sample(stem, read_image_file(images[stem]), labels=labels))
    return ImageSet(classes, samples)


def write_labels_csv(images: ImageSet, root: str | Path, hide_labels: bool = False) -> None:
    """Write `images` into the layout: PNG images, and (unless `hide_labels`: a test split)
    their rows in labels.csv."""
    root = Path(root)
    spaced = [c for c in images.classes if len(c.split()) != 1]
    if spaced:
        raise DataError(f"{root / LABELS_FILE}: class names with spaces cannot be written "
                        f"space-separated: {spaced[:3]}")  # fmt: skip
    for sample in images.samples:
        with atomic_path(root / IMAGES / f"{sample.id}.png") as tmp:
            Image.fromarray(sample.image).save(tmp, format="PNG")
    if hide_labels:
        return
    names = [list(np.asarray(images.classes)[s.labels > 0]) for s in images.samples]
    write_labels_table(root / LABELS_FILE, [f"{i}.png" for i in images.ids], names)


def write_labels_table(path: Path, files: list[str], labels: list[list[str]]) -> None:
    """A labels.csv at `path`: each image file with its class names, space-separated."""
    table = pd.DataFrame({"image": files, "labels": [" ".join(names) for names in labels]})
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)

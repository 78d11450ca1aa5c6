"""The KUL "Computer Vision GA2" Kaggle layout.

train/train_set.csv        Id + one 0/1 column per class (class names from the header)
train/img/train_{Id}.npy   H x W x 3 uint8
train/seg/train_{Id}.npy   H x W, 0 = background, k = k-th class (255 = ignore, our extension)
test/test_set.csv          same header, all labels -1
test/img/test_{Id}.npy
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..fileio import atomic_path, save_npy
from .sample import ImageSet, Sample, labels_from_mask
from .validation import DataError, PixelNotes, as_rgb, check_mask, read_npy, require_file

log = logging.getLogger(__name__)


def is_kaggle_layout(root: str | Path) -> bool:
    return (Path(root) / "train" / "train_set.csv").is_file()


def read_kaggle_csv(csv_path: Path) -> tuple[list[str], pd.DataFrame]:
    """Class names and the label table (indexed by Id as strings) of a `*_set.csv`."""
    require_file(csv_path)
    try:
        table = pd.read_csv(csv_path, dtype={"Id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{csv_path}: unreadable CSV ({err})") from err
    if "Id" not in table.columns:
        raise DataError(f"{csv_path}: header has no 'Id' column (got {list(table.columns)[:5]})")
    classes = [c for c in table.columns if c != "Id"]
    if not classes:
        raise DataError(f"{csv_path}: header names no class columns after 'Id'")
    if table.empty:
        raise DataError(f"{csv_path}: empty split (no rows)")
    duplicated = table["Id"][table["Id"].duplicated()].tolist()
    if duplicated:
        raise DataError(f"{csv_path}: duplicated ids {duplicated[:5]}")
    bad = table[classes].isna() | ~table[classes].isin([-1, 0, 1])
    if bad.to_numpy().any():
        rows, columns = bad.to_numpy().nonzero()
        row, column = rows[0], columns[0]
        value = table[classes[column]].iloc[row]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise DataError(
            f"{csv_path}: id {table['Id'].iloc[row]}, column '{classes[column]}' holds "
            f"{shown}; label columns must hold 0/1 (or -1 for unknown test labels)"
        )
    return classes, table.set_index("Id")


def read_kaggle(root: str | Path, split: str = "train") -> ImageSet:
    """Read the `train` or `test` split of a Kaggle-layout folder."""
    split_dir = Path(root) / split
    classes, table = read_kaggle_csv(split_dir / f"{split}_set.csv")
    seg_dir = split_dir / "seg"
    with PixelNotes(split_dir / "img"):
        samples = []
        for sample_id, row in table.iterrows():
            img_path = split_dir / "img" / f"{split}_{sample_id}.npy"
            image = as_rgb(read_npy(img_path), img_path)
            mask = None
            if seg_dir.is_dir():
                seg_path = seg_dir / f"{split}_{sample_id}.npy"
                mask = check_mask(read_npy(seg_path), image, len(classes), seg_path)
            labels = row.to_numpy()
            if (labels == -1).any():
                labels = labels_from_mask(mask, len(classes)) if mask is not None else None
            else:
                labels = labels.astype(np.uint8)
            samples.append(Sample(str(sample_id), image, mask, labels))
    listed = {f"{split}_{i}.npy" for i in table.index}
    extra = sorted(p.name for p in (split_dir / "img").glob("*.npy") if p.name not in listed)
    if extra:
        log.warning(
            "%s: %d image files have no row in the CSV, e.g. %s", split_dir, len(extra), extra[0]
        )
    return ImageSet(classes, samples)


def write_kaggle(images: ImageSet, root: str | Path, split: str, hide_labels: bool = False) -> None:
    """Write `images` as the `split` folder of a Kaggle layout.

    With `hide_labels` the CSV holds -1 everywhere and no masks are written (a test split).
    """
    split_dir = Path(root) / split
    rows = []
    for sample in images.samples:
        save_npy(split_dir / "img" / f"{split}_{sample.id}.npy", sample.image)
        if not hide_labels and sample.mask is not None:
            save_npy(split_dir / "seg" / f"{split}_{sample.id}.npy", sample.mask)
        labels = np.full(images.num_classes, -1) if hide_labels else sample.labels
        rows.append([sample.id, *labels.tolist()])
    table = pd.DataFrame(rows, columns=["Id", *images.classes])
    with atomic_path(split_dir / f"{split}_set.csv") as tmp:
        table.to_csv(tmp, index=False)

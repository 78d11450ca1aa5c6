"""Reading any layout by path (detected from its files), and converting between layouts with
the test answers kept aside."""

from __future__ import annotations

from pathlib import Path

from ..fileio import staging_folder
from ..submission.writer import write_submission
from .coco import coco_split_files, is_coco_layout, read_coco_split
from .folders import (
    is_folders_layout,
    is_image_folder,
    read_folders,
    read_image_folder,
    write_folders,
)
from .kaggle import is_kaggle_layout, read_kaggle, write_kaggle
from .labels_csv import is_labels_csv_layout, read_labels_csv, write_labels_csv
from .sample import ImageSet
from .validation import DataError
from .voc import is_voc_layout, read_voc, write_voc

TRUTH_DIR = "truth"


# Every layout vocvision reads: its detector and its split reader, tried in this order.
LAYOUTS = {
    "kaggle": (is_kaggle_layout, read_kaggle),
    "voc": (is_voc_layout, read_voc),
    "coco": (is_coco_layout, read_coco_split),
    "labels-csv": (is_labels_csv_layout, read_labels_csv),
    "folders": (is_folders_layout, read_folders),
    "image-folder": (is_image_folder, read_image_folder),
}


def layout_of(root: str | Path) -> str:
    """The name of the layout of the folder `root` (a key of LAYOUTS)."""
    for name, (detect, _) in LAYOUTS.items():
        if detect(root):
            return name
    raise DataError(
        f"{root}: neither a Kaggle layout (train/train_set.csv), a VOC layout (JPEGImages/), "
        "a COCO layout (<split>/annotation.json), images/ with masks/ or labels.csv, nor a "
        "folder of images"
    )


def has_masks(root: str | Path) -> bool:
    """Whether the training split of `root` can have masks (False for image labels only)."""
    layout = layout_of(root)
    if layout == "folders":
        return (Path(root) / "masks").is_dir()
    if layout == "kaggle":
        return (Path(root) / "train" / "seg").is_dir()
    return layout in ("voc", "coco")


def read_split(root: str | Path, split: str) -> ImageSet:
    """Read split `split` of a folder in any of the LAYOUTS (detected from its files; COCO
    with all its categories)."""
    return LAYOUTS[layout_of(root)][1](root, split)


def read_answered_split(root: str | Path, split: str) -> ImageSet | None:
    """`split` with its answers: the split itself when every image has labels, else the
    test answers a Kaggle folder keeps aside in `truth/`, else None."""
    images = read_split(root, split)
    if all(s.labels is not None for s in images.samples):
        return images
    if (Path(root) / TRUTH_DIR / f"{TRUTH_DIR}_set.csv").is_file():
        return read_kaggle(root, TRUTH_DIR)
    return None


def write_truth(images: ImageSet, root: str | Path) -> Path:
    """Keep a test split's answers aside: Kaggle-style labels + masks and `solution.csv`."""
    truth = Path(root) / TRUTH_DIR
    write_kaggle(images, truth.parent, TRUTH_DIR)
    masks = [s.mask for s in images.samples]
    if any(m is None for m in masks):
        raise DataError(f"{root}: the test split needs masks to write a solution")
    write_submission(
        truth / "solution.csv", images.ids, images.label_matrix(), masks, images.num_classes
    )
    return truth


def voc_to_kaggle(
    voc_root: str | Path, out: str | Path, train_split: str = "train", test_split: str = "val"
) -> None:
    """VOC `train_split` -> Kaggle train/, `test_split` -> Kaggle test/ (labels hidden) + truth/."""
    train, test = read_voc(voc_root, train_split), read_voc(voc_root, test_split)
    write_kaggle(train, out, "train")
    write_kaggle(test, out, "test", hide_labels=True)
    if all(s.mask is not None for s in test.samples):
        write_truth(test, out)


def kaggle_to_voc(kaggle_root: str | Path, out: str | Path) -> None:
    """Kaggle train/ (and truth/ when present, as split 'test') -> VOC splits of the same names."""
    write_voc(read_kaggle(kaggle_root, "train"), out, "train")
    if (Path(kaggle_root) / TRUTH_DIR / f"{TRUTH_DIR}_set.csv").is_file():
        write_voc(read_kaggle(kaggle_root, TRUTH_DIR), out, "test")


def coco_to_voc(
    coco_root: str | Path,
    out: str | Path,
    splits: tuple[str, ...] = ("train", "val"),
    categories: list[str] | None = None,
    binary: str | None = None,
) -> None:
    """COCO splits (those present of `splits`) -> VOC splits of the same names, with the
    `categories` subset or the `binary` category (see `data.coco.read_coco`)."""
    present = [s for s in splits if coco_split_files(coco_root, s) is not None]
    if not present:
        raise DataError(f"{coco_root}: none of the COCO splits {list(splits)} found")
    for split in present:
        images = read_coco_split(coco_root, split, categories=categories, binary=binary)
        write_voc(images, out, split)


TARGETS = ("voc", "kaggle", "folders", "labels-csv")
DEFAULT_TARGET = {"kaggle": "voc", "voc": "kaggle", "coco": "voc", "folders": "voc",
                  "labels-csv": "kaggle"}  # fmt: skip


def convert(
    source: str | Path,
    out: str | Path,
    train_split: str = "train",
    test_split: str = "val",
    categories: list[str] | None = None,
    binary: str | None = None,
    to: str | None = None,
) -> str:
    """Convert `source` into the layout `to` (one of TARGETS; default: Kaggle <-> VOC,
    COCO and images + masks -> VOC, labels.csv -> Kaggle) in the new (or empty) folder `out`;
    returns the layout written. COCO folders take the `categories` subset or one `binary`
    category. The dataset is written beside `out` and renamed into place when complete, so
    a failure leaves no half-written folder."""
    source, out = Path(source), Path(out)
    _check_out(source, out)
    layout = layout_of(source)
    to = to or DEFAULT_TARGET.get(layout)
    if to not in TARGETS:
        raise DataError(f"{source}: a {layout} folder has nothing to convert; --to takes "
                        f"{', '.join(TARGETS)}")  # fmt: skip
    if layout == "labels-csv" and to in ("voc", "folders"):
        raise DataError(f"{source}: labels.csv holds image labels, no masks: it converts to "
                        "kaggle (or labels-csv) only")  # fmt: skip
    if layout == "coco" and to == "voc":
        write = lambda at: coco_to_voc(source, at, (train_split, test_split), categories, binary)  # noqa: E731
    elif layout == "kaggle" and to == "voc":
        write = lambda at: kaggle_to_voc(source, at)  # noqa: E731
    elif layout == "voc" and to == "kaggle":
        write = lambda at: voc_to_kaggle(source, at, train_split, test_split)  # noqa: E731
    else:
        train, test = _source_splits(source, layout, train_split, test_split)
        write = lambda at: WRITERS[to](train, test, at)  # noqa: E731
    with staging_folder(out) as staging:
        write(staging)
    return to


def _source_splits(
    source: Path, layout: str, train_split: str, test_split: str
) -> tuple[ImageSet, ImageSet | None]:
    """The training split and the test split (with its answers where they are kept) of
    `source`; None when it has no test images."""
    if layout in ("folders", "labels-csv"):
        train_split, test_split = "train", "test"
    train = read_split(source, train_split)
    if layout == "kaggle":
        test = read_answered_split(source, "test") or read_split(source, "test")
    elif layout in ("voc", "coco") and not has_split(source, test_split, layout):
        return train, None
    else:
        test = read_split(source, test_split)
    shared = sorted(set(train.ids) & set(test.ids))
    if shared:
        raise DataError(f"{source}: image {shared[0]} is in both the training and the test "
                        "split; the target keeps one file per image")  # fmt: skip
    return train, test if len(test) else None


def has_split(root: str | Path, split: str, layout: str | None = None) -> bool:
    """Whether a layout that lists its splits in files (VOC, COCO, images + masks with
    splits/) has `split`; False for the others."""
    root, layout = Path(root), layout or layout_of(root)
    if layout == "coco":
        return coco_split_files(root, split) is not None
    if layout == "voc":
        return (root / "ImageSets" / "Segmentation" / f"{split}.txt").is_file()
    return layout == "folders" and (root / "splits" / f"{split}.txt").is_file()


def _write_voc(train: ImageSet, test: ImageSet | None, root: Path) -> None:
    write_voc(train, root, "train")
    if test is not None:
        write_voc(test, root, "val")


def _write_kaggle(train: ImageSet, test: ImageSet | None, root: Path) -> None:
    write_kaggle(train, root, "train")
    if test is not None:
        write_kaggle(test, root, "test", hide_labels=True)
        if all(s.mask is not None for s in test.samples):
            write_truth(test, root)


def _write_folders(train: ImageSet, test: ImageSet | None, root: Path) -> None:
    write_folders(train, root, "train")
    if test is not None:
        write_folders(test, root, "test")


def _write_labels_csv(train: ImageSet, test: ImageSet | None, root: Path) -> None:
    write_labels_csv(train, root)
    if test is not None:
        write_labels_csv(test, root, hide_labels=True)


WRITERS = {
    "voc": _write_voc,
    "kaggle": _write_kaggle,
    "folders": _write_folders,
    "labels-csv": _write_labels_csv,
}


def _check_out(source: Path, out: Path) -> None:
    """`out` is a new or empty folder apart from `source` (neither inside the other)."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        raise DataError(f"{out}: the converted dataset must go outside {source}, and apart")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(
            f"{out}: exists and is not an empty folder; convert writes a whole dataset into "
            "a new (or empty) folder"
        )

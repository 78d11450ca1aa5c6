"""Reading either layout by path, and converting between them with the truth kept aside."""

from __future__ import annotations

from pathlib import Path

from ..fileio import staging_folder
from ..submission.writer import write_submission
from .coco import coco_split_files, is_coco_layout, read_coco_split
from .kaggle import is_kaggle_layout, read_kaggle, write_kaggle
from .sample import ImageSet
from .validation import DataError
from .voc import is_voc_layout, read_voc, write_voc

TRUTH_DIR = "truth"


def read_split(root: str | Path, split: str) -> ImageSet:
    """Read split `split` of a Kaggle, VOC or COCO-layout folder (detected from its files;
    COCO with all its categories)."""
    if is_kaggle_layout(root):
        return read_kaggle(root, split)
    if is_voc_layout(root):
        return read_voc(root, split)
    if is_coco_layout(root):
        return read_coco_split(root, split)
    raise DataError(
        f"{root}: neither a Kaggle layout (train/train_set.csv), a VOC layout (JPEGImages/) "
        "nor a COCO layout (<split>/annotation.json)"
    )


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


def convert(
    source: str | Path,
    out: str | Path,
    train_split: str = "train",
    test_split: str = "val",
    categories: list[str] | None = None,
    binary: str | None = None,
) -> str:
    """Convert `source` to the other layout in the new (or empty) folder `out`; returns the
    layout written ('kaggle' or 'voc'). COCO folders become VOC, with the `categories`
    subset or one `binary` category. The dataset is written beside `out` and renamed into
    place when complete, so a failure leaves no half-written folder."""
    source, out = Path(source), Path(out)
    _check_out(source, out)
    if is_coco_layout(source):
        layout, write = (
            "voc",
            lambda to: coco_to_voc(source, to, (train_split, test_split), categories, binary),
        )
    elif is_kaggle_layout(source):
        layout, write = "voc", lambda to: kaggle_to_voc(source, to)
    elif is_voc_layout(source):
        layout, write = "kaggle", lambda to: voc_to_kaggle(source, to, train_split, test_split)
    else:
        raise DataError(f"{source}: neither a Kaggle nor a VOC layout")
    with staging_folder(out) as staging:
        write(staging)
    return layout


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

"""Which images a step works on: a data folder's default splits, the run's own train and
validation parts, and the check that data and run agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..data import DataError, ImageSet, Sample, read_split
from ..data.convert import has_split
from ..data.validation import PixelNotes, as_rgb, pil_to_rgb, read_image_file, warn_once
from ..errors import RunFolderError
from ..runfolder import RunInfo

RUN_PARTS = ("train", "val")  # split names that mean the run's own parts of its train split


def default_splits(data_dir: str | Path) -> tuple[str, str]:
    """(train split, test split): `train` and `val` where the layout lists a `val` split
    (VOC, COCO, images + masks with splits/), else `train` and `test`."""
    return "train", "val" if has_split(data_dir, "val") else "test"


def read_run_split(info: RunInfo, split: str | None = None, data_dir=None) -> ImageSet:
    """Images of `split` for a run: "train" and "val" are the run's own training and
    validation parts of its training split; "test" (the default) is the data's test split;
    any other name is that split of the data folder. `data_dir` replaces the run's data (then
    every name is one of its splits); its classes must be the run's."""
    split = split or "test"
    if data_dir is not None and Path(data_dir).resolve() != Path(info.data_dir).resolve():
        images = read_split(data_dir, split)
        if not images.classes:  # images alone: the run's classes
            return ImageSet(info.classes, images.samples, info.has_background, info.coding)
        check_matches(info, images, Path(data_dir))
        return images
    if split in RUN_PARTS:
        images = read_split(info.data_dir, info.train_split)
        wanted = info.train_ids if split == "train" else info.val_ids
        by_id = {s.id: i for i, s in enumerate(images.samples)}
        lost = [i for i in wanted if i not in by_id]
        if lost:
            raise RunFolderError(
                f"{info.data_dir}: {len(lost)} images of the run's {split} part are gone from "
                f"split '{info.train_split}', e.g. {lost[0]}"
            )
        return images.subset([by_id[i] for i in wanted])
    images = read_split(info.data_dir, info.test_split if split == "test" else split)
    check_matches(info, images, Path(info.data_dir))
    return images


def check_matches(info: RunInfo, images: ImageSet, source: Path) -> None:
    """Raise RunFolderError unless `images` have the run's classes (names and order), its
    background setting and its mask coding."""
    if images.classes != info.classes:
        raise RunFolderError(
            f"{source}: classes {_short(images.classes)} do not match the run's "
            f"{_short(info.classes)} (names and order must be the same)"
        )
    if images.has_background != info.has_background:
        said = {True: "has a background class", False: "has no background class"}
        raise RunFolderError(
            f"{source}: {said[images.has_background]}, the run's data "
            f"{said[info.has_background].replace('has', 'had')}"
        )
    if images.coding.values != info.coding.values:
        raise RunFolderError(
            f"{source}: mask values {images.coding.to_dict()} differ from the run's "
            f"{info.coding.to_dict()}"
        )
    if images.coding.ignore != info.coding.ignore:  # the same classes: only unlabelled differs
        warn_once(
            f"{source}: ignore value {images.coding.ignore} where the run's data had "
            f"{info.coding.ignore}; the class values are the same, so the masks are compatible"
        )


def _short(names: list[str]) -> str:
    return f"{names[:6]}{' ...' if len(names) > 6 else ''} ({len(names)})"


def _as_list(inputs) -> list:
    """`inputs` as a list of images: one image (a path, a PIL image, an H x W (x C) array or
    a C x H x W tensor) becomes a list of one; a 4-D array or tensor, one per image."""
    if isinstance(inputs, str | Path | Image.Image):
        return [inputs]
    if isinstance(inputs, np.ndarray | torch.Tensor):
        if inputs.ndim in (2, 3):
            return [inputs]
        if inputs.ndim == 4:
            return list(inputs)
        raise DataError(f"expected an image or a batch of images, got shape {tuple(inputs.shape)}")
    if not isinstance(inputs, list | tuple):
        raise DataError(
            f"expected images (paths, PIL images, arrays or a list of them), got "
            f"{type(inputs).__name__}"
        )
    return list(inputs)


def images_from(inputs, classes: list[str], has_background: bool = True) -> ImageSet:
    """An unlabelled ImageSet of images: H x W x 3 (or H x W) arrays, 3 x H x W tensors,
    PIL images or image file paths, one of them or a list (ids: the file names' stems,
    else the positions)."""
    samples = []
    with PixelNotes("the images given"):
        for index, item in enumerate(_as_list(inputs)):
            if isinstance(item, str | Path):
                path = Path(item)
                image, sample_id = read_image_file(path), path.stem
            elif isinstance(item, Image.Image):
                image, sample_id = pil_to_rgb(item, f"image {index}"), str(index)
            else:
                if isinstance(item, torch.Tensor):  # torchvision's C x H x W
                    item = item.detach().cpu().numpy()
                    item = item.transpose(1, 2, 0) if item.ndim == 3 else item
                image, sample_id = as_rgb(np.asarray(item), f"image {index}"), str(index)
            samples.append(Sample(sample_id, image))
    if not samples:
        raise DataError("no images to predict")
    return ImageSet(classes, samples, has_background)

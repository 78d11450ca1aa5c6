"""Predicted masks as PNG files in the dataset's own values and palette, ready for the
dataset's own evaluation tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..data.labelmap import voc_palette
from ..data.labels_csv import LABELS_FILE, write_labels_table
from ..errors import RunFolderError
from ..fileio import atomic_path, ensure_writable
from ..runfolder import Predictions


def check_masks_folder(folder: str | Path, data_dirs: list[Path]) -> Path:
    """Before predicting: `folder` can be written and lies outside every data folder, where
    predicted masks would mix with, or overwrite, the dataset's own."""
    folder = Path(folder)
    for data_dir in data_dirs:
        if folder.resolve().is_relative_to(Path(data_dir).resolve()):
            raise RunFolderError(
                f"{folder}: inside the data folder {data_dir}; predicted masks would mix with "
                "(or overwrite) the dataset's own, so choose a folder outside it"
            )
    return ensure_writable(folder)


def dataset_palette(data_dir: Path) -> list[int]:
    """The palette of the data's own mask PNGs (VOC, images + masks), else the VOC one."""
    first = [sorted((Path(data_dir) / d).glob("*.png"))[:1] for d in ("SegmentationClass", "masks")]
    for path in first[0] or first[1]:
        with Image.open(path) as png:
            if png.mode == "P" and png.getpalette():
                palette = png.getpalette()
                return palette + [0] * (768 - len(palette))
    return voc_palette()


def write_mask_pngs(predictions: Predictions, folder: Path, palette: list[int]) -> list[Path]:
    """One `<id>.png` per image in `folder`: a palette PNG of the dataset's mask values
    (16-bit grey when a value passes 255); and the predicted labels as `labels.csv`
    (`image,labels`, space-separated class names)."""
    written = []
    for image_id, mask in zip(predictions.ids, predictions.masks, strict=True):
        if mask.dtype == np.uint8:
            png = Image.fromarray(mask, mode="P")
            png.putpalette(palette)
        else:
            png = Image.fromarray(mask.astype(np.uint16))
        path = folder / f"{image_id}.png"
        with atomic_path(path) as tmp:
            png.save(tmp, format="PNG")
        written.append(path)
    names = [predictions.label_names(i) for i in range(len(predictions))]
    write_labels_table(folder / LABELS_FILE, [f"{i}.png" for i in predictions.ids], names)
    return written

"""Data layer: one sample type; readers and writers for the Kaggle, VOC, images + masks and
images + labels.csv layouts; COCO annotations as semantic masks; a folder of images."""

from .coco import read_coco, read_coco_split
from .convert import (
    LAYOUTS,
    convert,
    has_masks,
    layout_of,
    read_answered_split,
    read_split,
    write_truth,
)
from .folders import read_folders, write_folders
from .kaggle import read_kaggle, write_kaggle
from .labels_csv import read_labels_csv, write_labels_csv
from .sample import IGNORE_INDEX, ImageSet, MaskCoding, Sample, labels_from_mask
from .splits import image_groups, stratified_split
from .synthetic import make_synthetic, write_synthetic_dataset
from .validation import DataError
from .voc import read_voc, write_voc

__all__ = [
    "IGNORE_INDEX",
    "LAYOUTS",
    "DataError",
    "ImageSet",
    "MaskCoding",
    "Sample",
    "convert",
    "has_masks",
    "image_groups",
    "labels_from_mask",
    "layout_of",
    "make_synthetic",
    "read_answered_split",
    "read_coco",
    "read_coco_split",
    "read_folders",
    "read_kaggle",
    "read_labels_csv",
    "read_split",
    "read_voc",
    "stratified_split",
    "write_folders",
    "write_kaggle",
    "write_labels_csv",
    "write_synthetic_dataset",
    "write_truth",
    "write_voc",
]

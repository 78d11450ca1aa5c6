"""Data layer: one sample type, readers and writers for the Kaggle and VOC layouts, COCO
annotations as semantic masks."""

from .coco import read_coco, read_coco_split
from .convert import convert, read_answered_split, read_split, write_truth
from .kaggle import read_kaggle, write_kaggle
from .sample import IGNORE_INDEX, ImageSet, MaskCoding, Sample, labels_from_mask
from .splits import stratified_split
from .synthetic import make_synthetic, write_synthetic_dataset
from .validation import DataError
from .voc import read_voc, write_voc

__all__ = [
    "IGNORE_INDEX",
    "DataError",
    "ImageSet",
    "MaskCoding",
    "Sample",
    "convert",
    "labels_from_mask",
    "make_synthetic",
    "read_answered_split",
    "read_coco",
    "read_coco_split",
    "read_kaggle",
    "read_split",
    "read_voc",
    "stratified_split",
    "write_kaggle",
    "write_synthetic_dataset",
    "write_truth",
    "write_voc",
]

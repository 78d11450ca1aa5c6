"""Kaggle output: RLE, submission.csv, local scorer and validator."""

from .rle import RLEError, rle_decode, rle_dice, rle_encode
from .score import Score, ScoreError, score_submission
from .validate import check_rows, validate_submission
from .writer import (
    read_submission,
    stacked_class_masks,
    submission_rows,
    write_submission,
    write_table,
)

__all__ = [
    "RLEError",
    "Score",
    "ScoreError",
    "check_rows",
    "read_submission",
    "rle_decode",
    "rle_dice",
    "rle_encode",
    "score_submission",
    "stacked_class_masks",
    "submission_rows",
    "validate_submission",
    "write_submission",
    "write_table",
]

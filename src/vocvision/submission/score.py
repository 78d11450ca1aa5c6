"""Local scorer: the competition's mean Dice over all rows, and each half of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VocvisionError
from .rle import RLEError, rle_dice
from .writer import read_submission

SOLUTION_FILE = "solution.csv"


class ScoreError(VocvisionError, ValueError):
    """The submission cannot be scored against the solution."""


@dataclass
class Score:
    """The Kaggle mean Dice over all rows and over each half, and the number of rows."""

    overall: float
    classification: float
    segmentation: float
    rows: int

    def as_dict(self) -> dict[str, float]:
        return {
            "dice": self.overall,
            "classification_dice": self.classification,
            "segmentation_dice": self.segmentation,
        }


def solution_path(truth: str | Path) -> Path:
    """A solution CSV, or the `solution.csv` inside a truth folder written by `convert`."""
    truth = Path(truth)
    return truth / SOLUTION_FILE if truth.is_dir() else truth


def score_submission(submission: str | Path, truth: str | Path) -> Score:
    """Mean Dice over all solution rows (Dice = 1 when both sets are empty)."""
    sub, sol = read_submission(submission), read_submission(solution_path(truth))
    missing = sol.index.difference(sub.index)
    if len(missing):
        raise ScoreError(f"{submission}: {len(missing)} solution rows missing, e.g. {missing[0]}")
    dice = {}
    for row_id, truth_rle in sol["Predicted"].items():
        try:
            dice[row_id] = rle_dice(sub.at[row_id, "Predicted"], truth_rle)
        except RLEError as err:
            raise ScoreError(f"{submission}: row {row_id}: {err}") from err
    cls = [v for k, v in dice.items() if k.endswith("_classification")]
    seg = [v for k, v in dice.items() if k.endswith("_segmentation")]
    return Score(
        float(np.mean(list(dice.values()))),
        float(np.mean(cls)) if cls else float("nan"),
        float(np.mean(seg)) if seg else float("nan"),
        len(dice),
    )

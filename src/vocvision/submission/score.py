"""Local scorer: the competition's mean Dice over all rows, and each half of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import VocvisionError
from .rle import RLEError, rle_dice
from .validate import check_rows
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
    # test id -> (its classification row's Dice, its segmentation row's Dice), for intervals
    per_image: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

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
    """Mean Dice over all solution rows (Dice = 1 when both sets are empty), after the
    submission passes the validator: every solution row present once, no other rows, RLE
    well formed, and, when `truth` is a truth folder with its masks, every run inside its
    array. A submission that fails is a ScoreError naming the first problems."""
    solution = solution_path(truth)
    sol = _read(solution, "solution")
    sub = _read(Path(submission), "submission")
    ids = sorted({row.rpartition("_")[0] for row in sol.index})
    problems = check_rows(sub, ids, truth_sizes(Path(truth)))
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise ScoreError(f"{submission}: not a valid submission: {'; '.join(problems[:2])}{more}")
    dice = {}
    for row_id, truth_rle in sol["Predicted"].items():
        try:
            dice[row_id] = rle_dice(sub.at[row_id, "Predicted"], truth_rle)
        except RLEError as err:
            raise ScoreError(f"{solution}: row {row_id}: {err}") from err
    cls = [v for k, v in dice.items() if k.endswith("_classification")]
    seg = [v for k, v in dice.items() if k.endswith("_segmentation")]
    nan = float("nan")
    per_image = {
        i: (dice.get(f"{i}_classification", nan), dice.get(f"{i}_segmentation", nan)) for i in ids
    }
    return Score(
        float(np.mean(list(dice.values()))),
        float(np.mean(cls)) if cls else nan,
        float(np.mean(seg)) if seg else nan,
        len(dice),
        per_image,
    )


def _read(path: Path, what: str):
    try:
        return read_submission(path)
    except FileNotFoundError:
        raise ScoreError(f"{path}: {what} file not found") from None
    except (ValueError, OSError) as err:
        raise ScoreError(str(err)) from None


def truth_sizes(truth: Path) -> dict[str, tuple[int, int]] | None:
    """(K, K*H*W) per test id from a truth folder's label table and masks (their headers
    only), or None for a bare solution file."""
    table, masks = truth / "truth_set.csv", truth / "seg"
    if not truth.is_dir() or not table.is_file() or not masks.is_dir():
        return None
    header = table.read_text(encoding="utf-8", errors="replace").splitlines()[0].split(",")
    k = len(header) - 1
    sizes = {}
    for path in masks.glob("truth_*.npy"):
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        sizes[path.stem.removeprefix("truth_")] = (k, k * shape[0] * shape[1])
    return sizes

"""The Kaggle submission of a run's predictions: validated in memory, then written atomically,
and scored locally when the truth is known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data import read_split, write_truth
from ..data.kaggle import is_kaggle_layout
from ..errors import RunFolderError
from ..runfolder import Predictions, RunInfo
from ..submission import Score, check_rows, score_submission, submission_rows, write_table
from ..submission.score import SOLUTION_FILE


@dataclass
class Submission:
    """A written submission.csv and, when known, the truth it is scored against."""

    path: Path
    truth: Path | None = None
    on_score: Callable[[Score], None] | None = None  # records the score (the run's own file)

    def score(self, truth: str | Path | None = None) -> Score:
        """Kaggle mean Dice over all rows, and each half (`truth`: solution.csv or a folder
        holding it; default the run's test truth)."""
        given = truth is not None
        truth = truth or self.truth
        if truth is None:
            raise RunFolderError(f"{self.path}: no truth to score against (test answers unknown)")
        score = score_submission(self.path, truth)
        if self.on_score is not None and not given:
            self.on_score(score)
        return score


def check_predictions(predictions: Predictions, info: RunInfo, source: Path) -> None:
    """Refuse (RunFolderError naming `source`) predictions that are not this run's: other
    classes, a label matrix or mask list of another length, or other mask values."""
    n, k = len(predictions.ids), len(info.classes)
    problem = None
    if predictions.classes != list(info.classes):
        problem = f"classes {predictions.classes[:6]} ({len(predictions.classes)}), the run's {k}"
    elif predictions.labels.shape != (n, k) or predictions.scores.shape != (n, k):
        problem = f"labels of shape {predictions.labels.shape} for {n} images of {k} classes"
    elif predictions.masks and len(predictions.masks) != n:
        problem = f"{len(predictions.masks)} masks for {n} images"
    elif predictions.masks and predictions.coding.values != info.coding.values:
        problem = f"mask values {predictions.coding.to_dict()}, the run's {info.coding.to_dict()}"
    if problem:
        raise RunFolderError(
            f"{source}: not this run's predictions ({problem}); predict again: "
            "vocvision predict RUN"
        )


def write_submission_of(predictions: Predictions, path: str | Path) -> Path:
    """Write `predictions` as submission.csv at `path`, after checking the rows in memory
    (a failure leaves any earlier file untouched)."""
    if not predictions.masks:
        raise RunFolderError("a submission needs segmentation masks: train the segmenter too")
    labels = predictions.labels
    masks = predictions.label_masks()
    k = len(predictions.classes)
    table = submission_rows(predictions.ids, labels, masks, k)
    sizes = {i: (k, k * m.size) for i, m in zip(predictions.ids, masks, strict=True)}
    problems = check_rows(table, predictions.ids, sizes)
    if problems:
        raise RunFolderError(f"{path}: invalid submission: {'; '.join(problems[:3])}")
    write_table(path, table)
    return Path(path)


def test_truth(info: RunInfo, root: Path) -> Path | None:
    """The solution for the run's test split: a Kaggle folder's `truth/`, or written into the
    run from the test masks of a VOC/COCO folder; None when the answers are unknown."""
    data_dir = info.data_dir
    if is_kaggle_layout(data_dir):
        truth = Path(data_dir) / "truth"
        return truth if (truth / SOLUTION_FILE).is_file() else None
    test = read_split(data_dir, info.test_split)
    if any(s.mask is None for s in test.samples):
        return None
    return write_truth(test, root)

"""`submission.csv` as the competition's starter writes it: two rows per test image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..fileio import atomic_path
from .rle import rle_encode


def stacked_class_masks(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """K x H x W stack of `mask == k` for k in 1..K (background and ignore excluded)."""
    return mask[None] == np.arange(1, num_classes + 1)[:, None, None]


def submission_rows(
    ids: Sequence[str], labels: np.ndarray, masks: Sequence[np.ndarray], num_classes: int
) -> pd.DataFrame:
    """Table indexed by `Id` with column `Predicted`: `{Id}_classification`, `{Id}_segmentation`."""
    rows = {"Id": [], "Predicted": []}
    for sample_id, label_vector, mask in zip(ids, labels, masks, strict=True):
        rows["Id"] += [f"{sample_id}_classification", f"{sample_id}_segmentation"]
        rows["Predicted"] += [
            rle_encode(label_vector),
            rle_encode(stacked_class_masks(mask, num_classes)),
        ]
    return pd.DataFrame(rows, dtype=str).set_index("Id")


def write_submission(
    path: str | Path,
    ids: Sequence[str],
    labels: np.ndarray,
    masks: Sequence[np.ndarray],
    num_classes: int,
) -> pd.DataFrame:
    """Write the submission (or, from true labels and masks, a solution) file atomically."""
    table = submission_rows(ids, labels, masks, num_classes)
    write_table(path, table)
    return table


def write_table(path: str | Path, table: pd.DataFrame) -> None:
    """Write a submission table atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp)


def read_submission(path: str | Path) -> pd.DataFrame:
    """Read a submission/solution CSV; empty predictions stay empty strings. Files that are
    not one (empty, binary, not UTF-8, another header) raise a ValueError naming the file."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), expected the header 'Id,Predicted'")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}): not a CSV file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: unreadable CSV ({str(err).splitlines()[0]})") from None
    if list(table.columns) != ["Id", "Predicted"]:
        got = ",".join(map(str, table.columns))[:60]
        raise ValueError(f"{path}: header must be 'Id,Predicted', got '{got}'")
    return table.set_index("Id")

"""Checks a submission before upload: every id present, RLE well formed, runs inside arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .rle import RLEError, rle_end
from .writer import read_submission


def validate_submission(
    path: str | Path, ids: Sequence[str], array_sizes: Mapping[str, tuple[int, int]] | None = None
) -> list[str]:
    """Problems found in the submission at `path` (an empty list means valid).

    `array_sizes` maps each test id to (K, K*H*W), the element counts of its classification
    vector and stacked segmentation masks; when given, runs past the end are reported.
    """
    try:
        table = read_submission(path)
    except (ValueError, OSError) as err:
        return [str(err)]
    return check_rows(table, ids, array_sizes)


def check_rows(
    table: pd.DataFrame,
    ids: Sequence[str],
    array_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[str]:
    """Problems of a submission table (indexed by Id, column Predicted); see
    `validate_submission`."""
    problems = []
    duplicated = table.index[table.index.duplicated()].unique().tolist()
    if duplicated:
        problems.append(f"duplicated ids: {duplicated[:5]}")
    expected = {f"{i}_{kind}" for i in ids for kind in ("classification", "segmentation")}
    missing, extra = sorted(expected - set(table.index)), sorted(set(table.index) - expected)
    if missing:
        problems.append(f"{len(missing)} rows missing, e.g. {missing[0]}")
    if extra:
        problems.append(f"{len(extra)} unexpected rows, e.g. {extra[0]}")
    for row_id, rle in table["Predicted"].items():
        try:
            end = rle_end(rle)
        except RLEError as err:
            problems.append(f"row {row_id}: {err}")
            continue
        sample_id, _, kind = row_id.rpartition("_")
        if array_sizes and sample_id in array_sizes:
            limit = array_sizes[sample_id][0 if kind == "classification" else 1]
            if end > limit:
                problems.append(f"row {row_id}: run ends at {end}, past the {limit} elements")
    return problems

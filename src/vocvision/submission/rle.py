"""Run-length encoding exactly as the competition's starter writes it.

Flatten in C order, pad with a 0 at both ends, and list 1-indexed (start, length) pairs of the
runs of ones, space separated; an array without ones encodes to the empty string.
"""

from __future__ import annotations

import numpy as np


class RLEError(ValueError):
    """An RLE string that is not a well-formed list of runs."""


MAX_VALUE = 2**40  # no image stack has a trillion elements; larger values are malformed


def rle_encode(array: np.ndarray) -> str:
    pixels = np.concatenate([[0], np.asarray(array).astype(bool).ravel().astype(np.int8), [0]])
    runs = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    runs[1::2] -= runs[::2]
    return " ".join(map(str, runs.tolist()))


def parse_runs(rle: str) -> tuple[np.ndarray, np.ndarray]:
    """(starts, lengths) of a well-formed RLE; starts are 1-indexed. Raises RLEError."""
    tokens = rle.split()
    if not tokens:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    try:
        values = [int(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not t.lstrip("+-").isdigit())
        raise RLEError(f"non-integer token {bad[:20]!r} in RLE") from None
    if max(values) > MAX_VALUE:
        raise RLEError(f"a value of {len(str(max(values)))} digits: larger than any array")
    numbers = np.array(values, dtype=np.int64)
    if len(numbers) % 2:
        raise RLEError(f"odd number of values ({len(numbers)}); runs are start/length pairs")
    starts, lengths = numbers[0::2], numbers[1::2]
    if (starts < 1).any():
        raise RLEError("run start below 1 (starts are 1-indexed)")
    if (lengths < 1).any():
        raise RLEError("run length below 1")
    if (starts[1:] <= starts[:-1] + lengths[:-1] - 1).any():
        raise RLEError("runs overlap or are not in increasing order")
    return starts, lengths


def rle_decode(rle: str, size: int) -> np.ndarray:
    """Flat boolean array of `size` elements; raises RLEError if a run ends past `size`."""
    starts, lengths = parse_runs(rle)
    ends = starts + lengths - 1
    if len(ends) and ends[-1] > size:
        raise RLEError(f"run ends at {ends[-1]}, past the array's {size} elements")
    flat = np.zeros(size + 1, dtype=np.int32)
    np.add.at(flat, starts - 1, 1)
    np.add.at(flat, ends, -1)
    return np.cumsum(flat[:-1]) > 0


def rle_end(rle: str) -> int:
    """1-indexed position of the last set element (0 when empty)."""
    starts, lengths = parse_runs(rle)
    return int(starts[-1] + lengths[-1] - 1) if len(starts) else 0


def rle_dice(pred: str, truth: str) -> float:
    """Dice of two RLE-encoded sets; 1 when both are empty. Computed on the runs, never
    decoded, so its memory follows the number of runs, not the length a run claims."""
    a_starts, a_lengths = parse_runs(pred)
    b_starts, b_lengths = parse_runs(truth)
    total = int(a_lengths.sum()) + int(b_lengths.sum())
    if total == 0:
        return 1.0
    return 2 * _overlap(a_starts, a_lengths, b_starts, b_lengths) / total


def _overlap(a_starts, a_lengths, b_starts, b_lengths) -> int:
    """Elements in both of two sorted lists of disjoint runs (a two-pointer merge)."""
    a_ends, b_ends = a_starts + a_lengths, b_starts + b_lengths
    i = j = common = 0
    while i < len(a_starts) and j < len(b_starts):
        low, high = max(a_starts[i], b_starts[j]), min(a_ends[i], b_ends[j])
        common += max(0, int(high - low))
        if a_ends[i] < b_ends[j]:
            i += 1
        else:
            j += 1
    return common

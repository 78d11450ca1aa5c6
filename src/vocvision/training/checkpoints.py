"""Lightning checkpoints (for `--resume` only) written atomically, read without unpickling
code, and a CSV log that keeps its history across a resume.

Inference never reads these files: trained models are saved as safetensors (`models.hub`).
"""

from __future__ import annotations

import csv
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.loggers import CSVLogger

from ..errors import ModelFileError
from ..fileio import atomic_path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents, loaded with `weights_only=True` (tensors and plain values
    only: a crafted pickle cannot run code); unreadable files are a ModelFileError."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: checkpoint not found") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(f"{path}: unreadable or unsafe checkpoint ({reason})") from None


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints saved through a temporary file in their own folder, fsynced and renamed,
    so a full disk or a kill leaves the previous file or the complete new one; loaded with
    `weights_only=True`."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return read_checkpoint(path)


def metrics_history(metrics_csv: Path, before_epoch: int) -> list[dict[str, float]]:
    """The rows of a CSV log for the epochs before `before_epoch` (empty values dropped)."""
    if not metrics_csv.is_file():
        return []
    rows = []
    with open(metrics_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            values = {k: float(v) for k, v in row.items() if k and v not in ("", None)}
            if values.get("epoch", before_epoch) < before_epoch:
                rows.append(values)
    return rows


def trained_epochs(metrics_csv: Path) -> int | None:
    """How many epochs a model's CSV log records (None without a log)."""
    epochs = [row["epoch"] for row in metrics_history(metrics_csv, 2**31) if "epoch" in row]
    return int(max(epochs)) + 1 if epochs else None


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSV logger, whose `metrics.csv` starts with `history` (the rows of the
    epochs a resumed run keeps) instead of being wiped."""

    def __init__(self, *args, history: list[dict[str, float]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._history = list(history)

    @property
    def experiment(self):
        fresh = self._experiment is None
        experiment = super().experiment
        if fresh and self._history:
            experiment.metrics[:0] = self._history  # written with the next save
            self._history = []
        return experiment

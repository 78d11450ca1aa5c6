"""What a comparison with a from-scratch baseline rests on: how far the baseline trained
(epochs trained of those planned, its validation curve, whether it was still improving) and
every setting in which it differs from the run's model, so the report can say what the
comparison measures instead of calling it the encoder's effect alone."""

from __future__ import annotations

import dataclasses

import pandas as pd

from .. import figures
from ..runfolder import RunFolder, RunInfo
from ..tasks import TASKS
from ..workflow.baselines import BASELINES

# Settings that say how a model was built and trained (the rest are inference details).
COMPARED = (
    "arch", "backbone", "pretrained", "method", "loss", "image_size", "epochs", "lr",
    "batch_size", "tta_flip", "tta_scales", "crf", "progressive_scale", "freeze_epochs",
)  # fmt: skip


def baseline_facts(
    baseline: RunFolder, name: str, model: str, info: RunInfo, out: figures.FigureFolder
) -> dict:
    """The training facts of the `name` baseline (a `model`) in `baseline` beside the run of
    `info` (its curves saved as `baseline_<name>_curves`)."""
    ours = info.config.task(model)
    theirs = baseline.read_info().config.task(model)
    differs = {
        key: [_plain(getattr(theirs, key)), _plain(getattr(ours, key))]
        for key in COMPARED
        if hasattr(ours, key) and getattr(ours, key) != getattr(theirs, key)
    }
    facts: dict = {"differs": differs, "planned_epochs": theirs.epochs}
    metrics_csv = baseline.model(model).metrics_csv
    column = TASKS[model].monitor  # the metric its best epoch was chosen by
    if metrics_csv.is_file():
        metrics = pd.read_csv(metrics_csv)
        if column in metrics and "epoch" in metrics:
            curve = metrics.dropna(subset=[column]).groupby("epoch")[column].max()
            trained = int(curve.index.max()) + 1
            best_epoch = int(curve.idxmax())
            facts |= {
                "epochs": trained,
                "first": float(curve.iloc[0]),
                "best": float(curve.max()),
                "monitor": column,
                # still rising: its best epoch was one of its last two and it stopped short
                # of its plan (the time share ran out), so more epochs would have helped
                "converged": not (best_epoch >= trained - 2 and trained < theirs.epochs),
            }
            out.save(
                f"baseline_{name}_curves",
                figures.training_curves(metrics, model),
                f"The {BASELINES[name].label}'s training loss and validation scores per epoch.",
            )
    return facts


def _plain(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return list(value) if isinstance(value, tuple) else value

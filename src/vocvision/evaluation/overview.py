"""Section 1 material: the data (sizes, classes, balance, examples) and the training (curves,
best validation scores, time)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import figures
from ..data import ImageSet
from ..runfolder import RunFolder, RunInfo
from ..workflow.run_models import TrainedModels
from .examples import varied


def data_overview(
    info: RunInfo, train: ImageSet, test_size: int, out: figures.FigureFolder
) -> dict:
    """Counts, class shares and image sizes of the training split, with figures."""
    labels = train.label_matrix()
    heights = [s.image.shape[0] for s in train.samples]
    widths = [s.image.shape[1] for s in train.samples]
    out.save(
        "class_balance",
        figures.class_balance(train),
        f"Share of the {len(train)} training images that contain each class: rare classes "
        "get few examples to learn from.",
    )
    picks = varied(labels, 4)
    has_masks = all(train.samples[i].mask is not None for i in picks)
    rows = [
        (s.id, [s.image, figures.overlay(s.image, s.mask)] if has_masks else [s.image])
        for s in (train.samples[i] for i in picks)
    ]
    titles = ["image", "mask"] if has_masks else ["image"]
    out.save(
        "sample_images",
        figures.image_grid(rows, titles, train.classes),
        "Training images chosen to show many classes"
        + (", with their masks (colour = class)." if has_masks else "."),
    )
    out.save(
        "label_cooccurrence",
        figures.label_cooccurrence(labels, train.classes, "P(column | row), training labels"),
        "How often a class (column) appears in the images that contain another (row).",
    )
    return {
        "train_images": len(train),
        "train_part": len(info.train_ids),
        "val_part": len(info.val_ids),
        "test_images": test_size,
        "classes": train.classes,
        "has_background": train.has_background,
        "class_images": labels.sum(0).astype(int).tolist(),
        "labels_per_image": float(labels.sum(1).mean()),
        "height": [int(min(heights)), int(np.median(heights)), int(max(heights))],
        "width": [int(min(widths)), int(np.median(widths)), int(max(widths))],
    }


def training_summary(
    folder: RunFolder, info: RunInfo, models: TrainedModels, out: figures.FigureFolder
) -> dict:
    """Per model: how it was trained, its best validation scores and curves (epoch-trained
    models; the probe has no epochs)."""
    summary = {}
    for name, trained in models.items():
        task = trained.task
        entry = {"backbone": task.config.backbone, "image_size": task.input_size}
        if name == "classifier":
            entry["method"] = task.config.method
        else:
            entry["arch"] = task.config.arch
        metrics_csv = folder.model(name).metrics_csv
        if task.trains_with_lightning and metrics_csv.is_file():
            metrics = pd.read_csv(metrics_csv)
            columns = [c for c in ("val/mAP", "val/mIoU", "val/dice") if c in metrics]
            entry["best"] = {c: float(metrics[c].max()) for c in columns}
            entry["epochs"] = int(metrics["epoch"].max()) + 1 if "epoch" in metrics else None
            out.save(
                f"{name}_curves",
                figures.training_curves(metrics, name),
                f"The {name}'s training loss and validation scores per epoch: the best "
                f"epoch by {task.monitor} is the one kept.",
            )
        summary[name] = entry
    return summary

"""Matplotlib figures of data, predictions, metrics and attacks; `png(figure)` gives bytes.

Figures are built with the object API (no pyplot), so no GUI backend or global state is used,
and a notebook shows the returned `Figure` as it is.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torchmetrics.functional.classification import multilabel_precision_recall_curve

from .data.labelmap import voc_palette
from .data.sample import IGNORE_INDEX, ImageSet
from .fileio import write_bytes

PALETTE = np.array(voc_palette(), dtype=np.uint8).reshape(256, 3)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (90 dpi, tight)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def colour_mask(mask: np.ndarray) -> np.ndarray:
    """H x W x 3 VOC colours of a class-index mask (ignore pixels in cream)."""
    return PALETTE[mask]


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    coloured = colour_mask(mask).astype(np.float32)
    blend = np.where(
        (mask > 0)[..., None] & (mask != IGNORE_INDEX)[..., None],
        (1 - alpha) * image + alpha * coloured,
        image,
    )
    return blend.astype(np.uint8)


def class_balance(images: ImageSet) -> Figure:
    counts = images.label_matrix().sum(0)
    order = np.argsort(-counts)
    fig = Figure(figsize=(max(5, 0.35 * images.num_classes + 2), 3.2))
    ax = fig.subplots()
    ax.bar([images.classes[i] for i in order], counts[order] / len(images) * 100, color="#4a7ab5")
    ax.set_ylabel("% of images")
    ax.set_title(f"Class balance ({len(images)} training images)")
    ax.tick_params(axis="x", rotation=60)
    return fig


def image_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    titles: Sequence[str],
    classes: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Figure:
    """A grid with one row per (label, panels) entry; `titles` head the columns. With
    `classes`, a legend gives the mask colour of each class (class k has palette colour k);
    `notes` (one per row) are printed to the right of their row."""
    fig = Figure(figsize=(2.6 * len(titles), 2.1 * len(rows)))
    axes = fig.subplots(len(rows), len(titles), squeeze=False)
    for r, (label, panels) in enumerate(rows):
        for c, panel in enumerate(panels):
            axes[r, c].imshow(panel)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=9)
        axes[r, 0].set_ylabel(label, fontsize=8)
        if r < len(notes):
            last = axes[r, len(panels) - 1]
            last.text(1.06, 0.5, notes[r], transform=last.transAxes, va="center", fontsize=8)
    if classes:
        handles = [Patch(color=PALETTE[k + 1] / 255, label=name) for k, name in enumerate(classes)]
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(6, len(classes)),
            fontsize=8,
            bbox_to_anchor=(0.5, -0.02 - 0.012 * (len(classes) // 6)),
        )
    return fig


def training_curves(metrics: pd.DataFrame, title: str) -> Figure:
    """Loss and validation metrics per epoch from a Lightning CSVLogger `metrics.csv`."""
    per_epoch = metrics.groupby("epoch").last()
    fig = Figure(figsize=(9, 3))
    loss_ax, metric_ax = fig.subplots(1, 2)
    for column in ("train/loss", "train/loss_epoch", "val/loss"):
        if column in per_epoch:
            loss_ax.plot(per_epoch.index, per_epoch[column], marker=".", label=column)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_title(f"{title}: loss")
    loss_ax.legend(fontsize=8)
    for column in ("val/mAP", "val/mIoU", "val/dice"):
        if column in per_epoch:
            metric_ax.plot(per_epoch.index, per_epoch[column], marker=".", label=column)
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylim(0, 1)
    metric_ax.set_title(f"{title}: validation")
    metric_ax.legend(fontsize=8)
    return fig


def precision_recall_curves(
    probabilities: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    average_precision: Sequence[float],
    title: str,
) -> Figure:
    """One precision-recall curve per class with positives, its `average_precision` (as
    `metrics.classification_metrics` gives it) in the legend."""
    scores = torch.from_numpy(np.asarray(probabilities, dtype=np.float32))
    truth = torch.from_numpy(labels.astype(np.int64))
    precision, recall, _ = multilabel_precision_recall_curve(scores, truth, len(classes))
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    colours = PALETTE[1 : len(classes) + 1] / 255
    for k in np.flatnonzero(labels.sum(0) > 0):
        label = f"{classes[k]} {average_precision[k]:.2f}"
        ax.plot(recall[k], precision[k], color=colours[k], label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def label_cooccurrence(labels: np.ndarray, classes: Sequence[str], title: str) -> Figure:
    """Heat-map of P(column class present | row class present) over the images' labels."""
    counts = labels.T.astype(float) @ labels.astype(float)
    conditional = counts / np.maximum(np.diag(counts)[:, None], 1)
    return _heatmap(conditional, classes, title)


def confusion_heatmap(confusion: np.ndarray, names: Sequence[str], title: str) -> Figure:
    """Pixel confusion matrix [truth, prediction] normalised per truth row (recall on the
    diagonal); rows of classes absent from the truth stay empty."""
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    return _heatmap(rates, names, title, ("predicted", "true"))


def _heatmap(
    values: np.ndarray, names: Sequence[str], title: str, axes_labels: tuple[str, str] = ("", "")
) -> Figure:
    size = max(4.5, 0.32 * len(names) + 1.5)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel(axes_labels[0])
    ax.set_ylabel(axes_labels[1])
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig


def class_bars(names: Sequence[str], values: Sequence[float], metric: str, title: str) -> Figure:
    """Horizontal bars of a per-class metric (NaN classes left out), worst at the bottom."""
    pairs = sorted(
        ((v, n) for v, n in zip(values, names, strict=True) if not np.isnan(v)), reverse=True
    )
    fig = Figure(figsize=(6, max(2.5, 0.28 * len(pairs) + 1)))
    ax = fig.subplots()
    ax.barh([n for _, n in pairs][::-1], [v for v, _ in pairs][::-1], color="#4a7ab5")
    ax.set_xlim(0, 1)
    ax.set_xlabel(metric)
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=8)
    return fig


def error_map(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """H x W x 3 picture: correct pixels green, wrong ones red, ignored ones grey."""
    picture = np.where((pred == truth)[..., None], [40, 170, 70], [220, 40, 40])
    picture[truth == IGNORE_INDEX] = [128, 128, 128]
    return picture.astype(np.uint8)


def amplified(delta: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 picture of a perturbation (in [-eps, eps]) stretched to the full
    range around mid-grey, so an invisible delta can be seen."""
    scale = max(float(np.abs(delta).max()), 1e-12)
    return ((delta / scale * 0.5 + 0.5) * 255).round().astype(np.uint8)


def robustness_curves(curves: dict[str, tuple[Sequence[float], Sequence[float]]]) -> Figure:
    """One line per {name: (eps in 1/255 steps, metric relative to clean)}."""
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    for name, (eps, values) in curves.items():
        ax.plot(eps, values, marker="o", label=name)
    ax.set_xlabel("L-inf budget eps (x 1/255)")
    ax.set_ylabel("adversarial / clean metric")
    ax.set_ylim(0, 1.05)
    ax.set_title("Robustness to PGD over the budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


class FigureFolder:
    """Saves figures as PNG files in a folder and remembers the caption of each, which the
    report prints under it (numbered) and the notebook shows beside it."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.captions: dict[str, str] = {}

    def save(self, name: str, figure: Figure, caption: str) -> str:
        """Write `figure` as `name`.png; returns the file name."""
        file_name = f"{name}.png"
        write_bytes(self.folder / file_name, png(figure))
        self.captions[file_name] = caption
        return file_name

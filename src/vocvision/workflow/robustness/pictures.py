"""Figures of attacks: original, amplified perturbation, adversarial image, predictions."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ... import figures
from ...attacks.measure import outputs
from ..run_models import TrainedModel


def example_figure(
    victim: TrainedModel,
    ids: Sequence[str],
    images: torch.Tensor,
    adversarial: torch.Tensor,
    title: str,
    count: int = 4,
) -> Figure:
    """Original / amplified perturbation / adversarial image / predictions (labels with
    probabilities for the classifier, mask overlays for the segmenter) of the first images."""
    x, adv = images[:count], adversarial[:count]
    pictures = [(t * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy() for t in (x, adv)]
    deltas = (adv - x).permute(0, 2, 3, 1).numpy()
    task, model = victim.task, victim.model
    titles = ["image", "perturbation (amplified)", title]
    logits = [outputs(model, t) for t in (x, adv)]
    predicted = [task.decide(t) for t in logits]
    rows = []
    if task.dense:
        titles += ["prediction (clean)", "prediction (attacked)"]
        for i in range(len(x)):
            panels = [pictures[0][i], figures.amplified(deltas[i]), pictures[1][i]]
            panels += [figures.overlay(pictures[0][i], m[i].astype(np.uint8)) for m in predicted]
            rows.append((ids[i], panels))
        return figures.image_grid(rows, titles, task.classes)
    probabilities = [t.sigmoid().numpy() for t in logits]
    notes = []
    for i in range(len(x)):
        texts = [
            ", ".join(f"{task.classes[k]} {p[i, k]:.2f}" for k in np.flatnonzero(labels[i]))
            for p, labels in zip(probabilities, predicted, strict=True)
        ]
        clean, attacked = (textwrap.fill(t or "-", 36) for t in texts)
        notes.append(f"clean:\n{clean}\n\nattacked:\n{attacked}")
        rows.append((ids[i], [pictures[0][i], figures.amplified(deltas[i]), pictures[1][i]]))
    return figures.image_grid(rows, titles, notes=notes)

"""Section 2 material: the classifier's label scores against the answers."""

from __future__ import annotations

import numpy as np

from .. import figures
from ..inference import LabellingRule
from ..metrics import classification_metrics
from ..runfolder import Predictions


def classification_scores(
    predictions: Predictions,
    truth: np.ndarray,
    rule: LabellingRule,
    where: str,
    out: figures.FigureFolder,
) -> dict:
    """Summary metrics, the per-class table (positives, AP, F1, threshold) and the PR curves
    of the label scores on the answered images (`where` says which, in words)."""
    m = classification_metrics(predictions.scores, truth, predictions.labels)
    classes = predictions.classes
    thresholds = np.broadcast_to(np.asarray(rule.threshold, dtype=float), (len(classes),))
    per_class = [
        {
            "class": name,
            "positives": int(truth[:, k].sum()),
            "ap": m["per_class_ap"][k],
            "f1": m["per_class_f1"][k],
            "threshold": float(thresholds[k]),
        }
        for k, name in enumerate(classes)
    ]
    out.save(
        "classifier_pr_curves",
        figures.precision_recall_curves(
            predictions.scores, truth, classes, m["per_class_ap"], f"PR curves, {where}"
        ),
        f"Precision against recall of each class's label score on the {where}; the legend "
        "gives each class's average precision (AP). Curves hugging the top right separate "
        "the class well at any threshold.",
    )
    keys = ("dice", "mAP", "f1_micro", "f1_macro", "precision", "recall")
    return {"summary": {k: m[k] for k in keys}, "per_class": per_class}

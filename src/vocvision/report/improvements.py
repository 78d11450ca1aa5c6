"""The improvements over the baselines, each marked as the assignment asks, from numbers the
evaluation measured on the same images."""

from __future__ import annotations

from itertools import pairwise

from ..runfolder import Evaluation
from .document import Improvement, Paragraph


def marked(what: str, metric: str, new: float, old: float, against: str) -> Improvement | Paragraph:
    """'Improvement: <what>, +0.123 <metric> over <against> (a vs b).', or a plain note
    when it did not improve."""
    text = f"{what}, {new - old:+.3f} {metric} over {against} ({new:.3f} vs {old:.3f})."
    return Improvement(text) if new > old else Paragraph(f"No improvement: {text}")


def classification_improvements(e: Evaluation, training: dict) -> list:
    c, blocks = e.classification, []
    baseline = e.baselines.get("classifier")
    if baseline:
        what = f"pretrained backbone ({training['backbone']}, {training['method']})"
        blocks.append(
            marked(
                what,
                "per-image Dice",
                c["summary"]["dice"],
                baseline["dice"],
                f"the {baseline['label']}",
            )
        )
    rule = e.labelling or {}
    if "dice_at_half" in c and rule.get("chosen_on"):
        fused = rule.get("fusion_area_scale") is not None
        what = "labelling chosen on the validation part" + (
            " (fused with the segmenter's class areas)" if fused else ""
        )
        blocks.append(
            marked(
                what,
                "per-image Dice",
                c["summary"]["dice"],
                c["dice_at_half"],
                "the classifier at threshold 0.5",
            )
        )
    return blocks


def segmentation_improvements(e: Evaluation, training: dict) -> list:
    s, blocks = e.segmentation, []
    baseline = e.baselines.get("segmenter")
    if baseline:
        what = f"pretrained encoder ({training['arch']} over {training['backbone']})"
        blocks.append(
            marked(what, "mIoU", s["summary"]["mIoU"], baseline["mIoU"], f"the {baseline['label']}")
        )
    views = list((s.get("views") or {}).items())
    for (old_name, old), (new_name, new) in pairwise(views):
        added = new_name.removeprefix(old_name).strip(" +") or new_name
        what = "dense CRF" if added == "CRF" else f"test-time augmentation ({added})"
        blocks.append(marked(what, "Kaggle Dice", new["kaggle_dice"], old["kaggle_dice"], old_name))
    return blocks

"""The improvements over the baselines, each marked as the assignment asks, from numbers the
evaluation measured on the same images: "Improvement" only when the 95 % paired bootstrap
interval of the gain lies above zero, "Within noise" when it straddles zero."""

from __future__ import annotations

from itertools import pairwise

from ..runfolder import Evaluation
from .document import Improvement, Paragraph


def marked(
    what: str, metric: str, new: float, old: float, against: str, paired: dict | None = None
) -> Improvement | Paragraph:
    """'Improvement: <what>, +0.123 <metric> over <against> (a vs b; the interval of the
    difference over N images).' when the paired bootstrap says so, else 'Within noise: ...'
    or 'No improvement: ...'. Without a paired comparison (older runs) the sign decides."""
    text = f"{what}, {new - old:+.3f} {metric} over {against} ({new:.3f} vs {old:.3f}"
    if paired is None:
        better = new > old
        return Improvement(text + ").") if better else Paragraph(f"No improvement: {text}).")
    text += (
        f"; 95 % interval of the difference {paired['low']:+.3f} to {paired['high']:+.3f}, "
        f"paired bootstrap over {paired['images']} images)."
    )
    if paired["verdict"] == "better":
        return Improvement(text)
    return Paragraph(
        ("Within noise: " if paired["verdict"] != "worse" else "No improvement: ") + text
    )


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
                e.comparisons.get("classifier_pretrained"),
            )
        )
    rule = e.labelling or {}
    if "dice_at_half" in c and rule.get("chosen_on"):
        fused = rule.get("fusion_area_scale") is not None
        what = _labelling_words(rule["chosen_on"]) + (
            " (fused with the segmenter's class areas)" if fused else ""
        )
        blocks.append(
            marked(
                what,
                "per-image Dice",
                c["summary"]["dice"],
                c["dice_at_half"],
                "the classifier at threshold 0.5",
                e.comparisons.get("labelling"),
            )
        )
    return blocks


def segmentation_improvements(e: Evaluation, training: dict) -> list:
    s, blocks = e.segmentation, []
    baseline = e.baselines.get("segmenter")
    if baseline:
        what = f"pretrained encoder ({training['arch']} over {training['backbone']})"
        blocks.append(
            marked(
                what,
                "mIoU",
                s["summary"]["mIoU"],
                baseline["mIoU"],
                f"the {baseline['label']}",
                e.comparisons.get("segmenter_pretrained"),
            )
        )
    views = list((s.get("views") or {}).items())
    for (old_name, old), (new_name, new) in pairwise(views):
        added = new_name.removeprefix(old_name).strip(" +") or new_name
        what = "dense CRF" if added == "CRF" else f"test-time augmentation ({added})"
        paired = e.comparisons.get(f"view:{new_name}")
        blocks.append(
            marked(what, "Kaggle Dice", new["kaggle_dice"], old["kaggle_dice"], old_name, paired)
        )
    return blocks


def _labelling_words(chosen_on: str) -> str:
    given = {"given": "the threshold given to submit", "configured": "the configured threshold"}
    if chosen_on in given:
        return f"labelling at {given[chosen_on]}"
    return f"labelling chosen on the {chosen_on}"

"""The improvements over the baselines, each a subsection marked as the assignment asks
("Improvement: X instead of Y"), from numbers the evaluation measured on the same images:
"Improvement" only when the 95 % paired bootstrap interval of the gain lies above zero;
otherwise the subsection says "Tried" and why it is not one. Each says what differs."""

from __future__ import annotations

from itertools import pairwise

from ..inference import LabellingRule
from ..runfolder import Evaluation
from ..workflow.baselines import reference_baseline
from .document import Bullets, Improvement, Paragraph, Section
from .findings import METRIC_NAMES


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


def comparison_section(new: str, old: str, block: Improvement | Paragraph) -> Section:
    """A subsection "Improvement: <new> instead of <old>" (or "Tried: ..." when the gain
    did not hold up) holding the measured `block`."""
    verdict = "Improvement" if isinstance(block, Improvement) else "Tried"
    return Section(f"{verdict}: {new} instead of {old}").add(block)


def baseline_notes(baseline: dict) -> list:
    """What differs between the baseline and the model, and whether the baseline trained to
    convergence (if not, the comparison measures the time share as much as the method)."""
    blocks = []
    differs = baseline.get("differs") or {}
    if differs:
        items = [f"{key}: {theirs} (baseline) vs {ours}" for key, (theirs, ours) in differs.items()]
        blocks.append(Paragraph("What differs between the two:"))
        blocks.append(Bullets(items))
    if "epochs" in baseline:
        monitor = baseline["monitor"].removeprefix("val/")
        trained = (
            f"The baseline trained {baseline['epochs']} of its {baseline['planned_epochs']} "
            f"planned epochs; its validation {monitor} went from {baseline['first']:.3f} to "
            f"{baseline['best']:.3f}"
        )
        if baseline["converged"]:
            blocks.append(Paragraph(trained + "."))
        else:
            blocks.append(
                Paragraph(
                    trained + " and was still rising when its time share ran out: it had not "
                    "converged, so this gap measures training time as much as the method."
                )
            )
    return blocks


def _against_baseline(
    e: Evaluation, model: str, ours: float, metric: str, what: str, new: str
) -> list[Section]:
    """The subsection comparing the `model` (`ours` on `metric`) with its closest baseline,
    if one was trained: the paired verdict, what differs, whether it converged."""
    name = reference_baseline(e.baselines, model)
    if name is None:
        return []
    baseline = e.baselines[name]
    block = marked(
        what,
        METRIC_NAMES[metric],
        ours,
        baseline[metric],
        f"the {baseline['label']}",
        e.comparisons.get(f"{model}_pretrained"),
    )
    return [comparison_section(new, baseline["label"], block).add(*baseline_notes(baseline))]


def classification_improvements(e: Evaluation, training: dict) -> list[Section]:
    c, sections = e.classification, []
    what = f"pretrained backbone ({training['backbone']}, {training['method']})"
    new = f"pretrained {training['backbone']}"
    sections += _against_baseline(e, "classifier", c["summary"]["dice"], "dice", what, new)
    rule = e.labelling or {}
    if "dice_at_half" in c and rule.get("chosen_on"):
        fused = rule.get("fusion_area_scale") is not None
        what = _labelling_words(rule["chosen_on"], fused)
        block = marked(
            what,
            "per-image Dice",
            c["summary"]["dice"],
            c["dice_at_half"],
            "the classifier at threshold 0.5",
            e.comparisons.get("labelling"),
        )
        new = "labels fused with the segmenter's class areas" if fused else "a tuned threshold"
        sections.append(comparison_section(new, "the classifier alone at 0.5", block))
    return sections


def segmentation_improvements(e: Evaluation, training: dict) -> list[Section]:
    s, sections = e.segmentation, []
    encoder = _encoder_alone(e, training["backbone"])
    if encoder:  # the segmenter is then compared with the pretrained U-Net: the decoder's gain
        what = f"{training['arch']} decoder and the run's recipe"
    else:
        what = f"pretrained encoder ({training['arch']} over {training['backbone']})"
    new = f"{training['arch']} over a pretrained {training['backbone']}"
    sections += _against_baseline(e, "segmenter", s["summary"]["mIoU"], "mIoU", what, new)
    sections += encoder
    views = list((s.get("views") or {}).items())
    for (old_name, old), (new_name, new) in pairwise(views):
        what = new.get("adds") or f"{new_name} (instead of {old_name})"  # older records
        paired = e.comparisons.get(f"view:{new_name}")
        block = marked(
            what, "Kaggle Dice", new["kaggle_dice"], old["kaggle_dice"], old_name, paired
        )
        sections.append(comparison_section(new_name, old_name, block))
    return sections


def _encoder_alone(e: Evaluation, backbone: str) -> list[Section]:
    """The U-Net over the pretrained encoder against the same U-Net from scratch: one
    recipe and epoch count, the encoder's starting weights the only difference."""
    pretrained, scratch = e.baselines.get("unet_pretrained"), e.baselines.get("segmenter")
    if not (pretrained and scratch):
        return []
    block = marked(
        f"pretrained encoder alone ({backbone}, the same U-Net and recipe)",
        "mIoU",
        pretrained["mIoU"],
        scratch["mIoU"],
        "random weights",
        e.comparisons.get("segmenter_encoder"),
    )
    same = (
        "Both U-Nets share the decoder, input size, learning rate, loss and planned epochs (the "
        "one over the pretrained encoder plans as many as the one from scratch trained in its "
        "time share); only the encoder's starting weights differ (ImageNet or random)."
    )
    section = comparison_section(
        f"a pretrained {backbone} encoder", "random weights (U-Net)", block
    )
    for label, facts in ((pretrained["label"], pretrained), (scratch["label"], scratch)):
        if "epochs" in facts:
            same += (
                f" The {label} trained {facts['epochs']} of {facts['planned_epochs']} epochs "
                f"(validation mIoU {facts['first']:.3f} to {facts['best']:.3f})"
                f"{'' if facts['converged'] else ', still rising'}."
            )
    return [section.add(Paragraph(same))]


def _labelling_words(chosen_on: str, fused: bool) -> str:
    how = "labelling fused with the segmenter's class areas" if fused else "labelling"
    return f"{how}, its threshold {LabellingRule.provenance(chosen_on)}"

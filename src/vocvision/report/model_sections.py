"""Sections 2 and 3 of the hand-in, built from the evaluation: the classifier (2.1 from
scratch, 2.2 pretrained, then each improvement) and the segmenter (3.1 the model, then each
improvement), every subsection with its architecture in words and its curves."""

from __future__ import annotations

from dataclasses import replace

from ..inference import LabellingRule
from ..inference.view_budget import Views
from ..runfolder import Evaluation, RunFolder, RunInfo
from .document import Bullets, Paragraph, Section, Table, figures_matching, number, scores_table
from .findings import segmentation_findings, study_findings
from .improvements import classification_improvements, segmentation_improvements
from .overview_section import INTERVALS

SCRATCH_CNN = (
    "A small VGG-style CNN from random weights: a stride-2 stem, four stages of two 3x3 "
    "convolutions with batch norm and ReLU (32 to 256 channels, about 1.2 M parameters), "
    "max-pooling between stages, global average pooling and one sigmoid output per class, "
    "trained end to end with binary cross-entropy. It is the reference that shows what the "
    "training images alone can teach."
)
SCRATCH_UNET = (
    "A U-Net (Ronneberger et al. 2015) whose encoder starts from random weights: the "
    "encoder halves the resolution four times, the decoder upsamples and concatenates the "
    "encoder's features at each scale (skip connections), and a 1x1 convolution gives each "
    "pixel a score per class."
)
DECODERS = {
    "fpn": "a Feature Pyramid Network decoder (Lin et al. 2017): the encoder's features at "
    "four scales, each brought to 256 channels, summed top-down and upsampled to a common "
    "1/4 resolution; FPN is light (few decoder parameters to learn from few images)",
    "unet": "a U-Net decoder: upsampling with skip connections from each encoder scale",
    "deeplabv3plus": "a DeepLabV3+ decoder: atrous spatial pyramid pooling for context and a "
    "low-level skip for sharp borders",
}


def _figures(folder: RunFolder, evaluation: Evaluation, *names: str) -> list:
    return figures_matching(folder.layout.evaluation_dir / "figures", evaluation.figures, names)


def classification_section(folder: RunFolder, evaluation: Evaluation) -> Section:
    section = Section("Classification")
    training = evaluation.training.get("classifier")
    c = evaluation.classification
    if training is None or c is None:
        return section.add(Paragraph("No classifier was trained in this run."))
    section.add(
        Paragraph(
            "A multi-label classifier: one sigmoid output per class, so an image can hold "
            "several classes; a label is on when its score passes a threshold."
        )
    )
    baseline = evaluation.baselines.get("classifier")
    scratch = section.sub("From scratch")
    if baseline:
        scratch.add(
            Paragraph(SCRATCH_CNN),
            Paragraph(
                f"On the {evaluation.split}: per-image Dice {baseline['dice']:.3f}, mAP "
                f"{baseline['mAP']:.3f}."
            ),
            *_figures(folder, evaluation, "baseline_classifier_curves"),
        )
    else:
        scratch.add(Paragraph("The from-scratch CNN was not trained in this run.", True))
    _pretrained(section.sub("Pretrained"), folder, evaluation, training, c)
    section.subsections += classification_improvements(evaluation, training)
    study = folder.read_study()
    if study:
        _study_subsection(section.sub("Classification study"), study)
    return section


def _pretrained(
    sub: Section, folder: RunFolder, evaluation: Evaluation, training: dict, c: dict
) -> None:
    probe = training["method"] == "probe"
    how = (
        "its ImageNet features frozen and K-fold logistic heads fit on them (a linear "
        "probe: with a few hundred images, fitting only the heads cannot overfit the "
        "backbone and takes seconds)"
        if probe
        else "fine-tuned end to end from its ImageNet weights"
    )
    sub.add(
        Paragraph(
            f"{training['backbone']} pretrained on ImageNet, {how}, at {training['image_size']} px."
        )
    )
    rule = evaluation.labelling
    if rule:
        fused = rule["fusion_area_scale"] is not None
        how = (
            f"the classifier fused with the segmenter's class areas (scale "
            f"{rule['fusion_area_scale']})"
            if fused
            else "the classifier alone"
        )
        threshold = rule["threshold"]
        cut = "per-class thresholds" if isinstance(threshold, list) else f"threshold {threshold}"
        chosen = LabellingRule.provenance(rule.get("chosen_on"))
        sub.add(Paragraph(f"Labels come from {how} at {cut}, {chosen}."))
    caption = f"Classification on the {evaluation.split}; {INTERVALS}."
    sub.add(scores_table(c["summary"], c.get("intervals"), caption))
    rows = [
        [r["class"], str(r["positives"]), number(r["ap"], 3), number(r["f1"], 3),
         number(r["threshold"], 2)]
        for r in c["per_class"]
    ]  # fmt: skip
    sub.add(Table(["class", "positives", "AP", "F1", "threshold"], rows, "Per class."))
    sub.add(*_figures(folder, evaluation, "classifier_pr_curves", "classifier_curves"))


def _study_subsection(sub: Section, study: dict) -> None:
    sub.add(Bullets(study_findings(study)))
    columns = ("dice", "mAP", "f1_micro", "f1_macro")
    for protocol, part in study.items():
        rows = [[r.get("label", r["name"]), *(number(r[k]) for k in columns)] for r in part.rows]
        caption = f"{protocol.replace('_', ' ')} ({part.images} images)."
        sub.add(Table(["variant", *columns], rows, caption))


def segmentation_section(folder: RunFolder, info: RunInfo, evaluation: Evaluation) -> Section:
    section = Section("Segmentation")
    training = evaluation.training.get("segmenter")
    s = evaluation.segmentation
    if training is None:
        job = folder.read_job()
        why = [st.note for st in job.stages if st.name == "segment"] if job else []
        said = f"No segmenter: {why[0]}." if why and why[0] else "No segmenter was trained."
        return section.add(Paragraph(said[0].upper() + said[1:]))
    c = info.config.segmenter
    views = replace(Views.of(c), crf=False)
    scales = f" {list(c.tta_scales)}" if views.scales != (1.0,) else ""
    model = section.sub("The model")
    decoder = DECODERS.get(training["arch"], f"a {training['arch']} decoder")
    model.add(
        Paragraph(
            f"{training['arch']} over {training['backbone']}: the encoder is the pretrained "
            f"ImageNet classifier without its head, and {decoder}. Trained at "
            f"{training['image_size']} px with loss {c.loss}; prediction at each image's own "
            f"resolution ({views.describe()}{scales}{', then a dense CRF' if c.crf else ''})."
        )
    )
    if evaluation.baselines.get("segmenter"):
        model.add(Paragraph(f"The from-scratch reference: {SCRATCH_UNET}"))
        model.add(*_figures(folder, evaluation, "baseline_segmenter_curves"))
    if evaluation.baselines.get("unet_pretrained"):
        model.add(
            Paragraph(
                "Beside it the same U-Net over the pretrained encoder, with the same recipe "
                "and at most as many epochs: the two differ in the encoder's starting weights "
                "alone, so their gap is the pretrained encoder's effect."
            ),
            *_figures(folder, evaluation, "baseline_unet_pretrained_curves"),
        )
    if s is not None:
        model.add(Bullets(segmentation_findings(s)))
        caption = f"Segmentation on the {evaluation.split}; {INTERVALS}."
        model.add(scores_table(s["summary"], s.get("intervals"), caption))
        model.add(
            *_figures(
                folder,
                evaluation,
                "segmenter_per_class_iou",
                "segmenter_confusion",
                "segmenter_best_worst",
            )
        )
    model.add(*_figures(folder, evaluation, "segmenter_curves", "test_predictions"))
    if s is not None:
        section.subsections += segmentation_improvements(evaluation, training)
    return section

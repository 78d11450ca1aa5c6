"""The report's first four sections, in the assignment's order, built from what the run's
steps wrote: run.json, job.json, the evaluation, the score, the study and the attacks."""

from __future__ import annotations

from ..runfolder import Evaluation, RunFolder, RunInfo
from .document import Bullets, Paragraph, Section, Table, figures_matching, number, scores_table
from .findings import attack_findings, segmentation_findings, study_findings
from .improvements import classification_improvements, segmentation_improvements

INTERVALS = "intervals: 95 % percentile bootstrap over the images"
MODEL_WORDS = {"classifier": "a multi-label classifier", "segmenter": "a semantic segmenter"}
TITLES = (
    "Overview and data",
    "Classification",
    "Segmentation",
    "Adversarial attacks",
    "Discussion",
)


def _figures(folder: RunFolder, evaluation: Evaluation, *names: str) -> list:
    return figures_matching(folder.layout.evaluation_dir / "figures", evaluation.figures, names)


def overview_section(folder: RunFolder, info: RunInfo, evaluation: Evaluation) -> Section:
    d = evaluation.data
    section = Section(TITLES[0])
    trained = [MODEL_WORDS[name] for name in MODEL_WORDS if name in evaluation.training]
    section.add(
        Paragraph(
            f"vocvision trained {' and '.join(trained) or 'no model'} on "
            f"{info.data_dir} ({d['train_images']} training images, {len(d['classes'])} "
            f"classes{'' if d['has_background'] else ', no background class'}) and "
            f"predicted its test split ({d['test_images']} images). The training images were "
            f"split, stratified by label, into a training part ({d['train_part']}) and a "
            f"validation part ({d['val_part']}) that chooses thresholds and the best epoch; "
            f"scores below are on the {evaluation.split}."
        ),
        Table(
            ["", "value"],
            [
                ["classes", ", ".join(d["classes"])],
                ["labels per image (mean)", number(d["labels_per_image"], 2)],
                ["image height (min / median / max)", " / ".join(map(str, d["height"]))],
                ["image width (min / median / max)", " / ".join(map(str, d["width"]))],
            ],
            "The data.",
        ),
    )
    score = folder.read_score()
    if score:
        halves = {k: score[k] for k in ("dice", "classification_dice", "segmentation_dice")}
        images = f", {score['images']} images" if score.get("images") else ""
        caption = f"Kaggle mean Dice of submission.csv, test split{images}; {INTERVALS}."
        section.add(scores_table(halves, score.get("intervals"), caption))
    elif folder.layout.submission.is_file():
        section.add(Paragraph("The test answers are hidden: submission.csv is not scored.", True))
    else:
        section.add(Paragraph("No submission.csv: its rows need a segmenter's masks.", True))
    job = folder.read_job()
    if job:
        rows = [
            [s.name, f"{s.allotted_s:.0f}", f"{s.seconds:.0f}", s.status, s.note]
            for s in job.stages
        ]
        caption = f"The stages of `vocvision run` in a budget of {job.budget_s / 60:.0f} minutes."
        section.add(Table(["stage", "share s", "took s", "status", "what"], rows, caption))
    section.add(
        *_figures(folder, evaluation, "class_balance", "sample_images", "label_cooccurrence")
    )
    return section


def classification_section(folder: RunFolder, evaluation: Evaluation) -> Section:
    section = Section(TITLES[1])
    training = evaluation.training.get("classifier")
    c = evaluation.classification
    if training is None or c is None:
        return section.add(Paragraph("No classifier was trained in this run."))
    probe = training["method"] == "probe"
    how = "frozen ImageNet features, K-fold linear heads" if probe else "fine-tuned end to end"
    section.add(
        Paragraph(
            f"Classifier: {training['backbone']} ({training['method']}: {how}) at "
            f"{training['image_size']} px."
        ),
        *classification_improvements(evaluation, training),
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
        chosen = f", chosen on the {rule['chosen_on']}" if rule.get("chosen_on") else ""
        section.add(Paragraph(f"Labels come from {how} at {cut}{chosen}."))
    caption = f"Classification on the {evaluation.split}; {INTERVALS}."
    section.add(scores_table(c["summary"], c.get("intervals"), caption))
    rows = [
        [
            r["class"],
            str(r["positives"]),
            number(r["ap"], 3),
            number(r["f1"], 3),
            number(r["threshold"], 2),
        ]
        for r in c["per_class"]
    ]
    section.add(Table(["class", "positives", "AP", "F1", "threshold"], rows, "Per class."))
    section.add(*_figures(folder, evaluation, "classifier_pr_curves", "classifier_curves"))
    study = folder.read_study()
    if study:
        _study_subsection(section.sub("Classification study"), study)
    return section


def _study_subsection(sub: Section, study: dict) -> None:
    sub.add(Bullets(study_findings(study)))
    columns = ("dice", "mAP", "f1_micro", "f1_macro")
    for protocol, part in study.items():
        rows = [[r.get("label", r["name"]), *(number(r[k]) for k in columns)] for r in part.rows]
        caption = f"{protocol.replace('_', ' ')} ({part.images} images)."
        sub.add(Table(["variant", *columns], rows, caption))


def segmentation_section(folder: RunFolder, info: RunInfo, evaluation: Evaluation) -> Section:
    section = Section(TITLES[2])
    training = evaluation.training.get("segmenter")
    s = evaluation.segmentation
    if training is None:
        job = folder.read_job()
        why = [st.note for st in job.stages if st.name == "segment"] if job else []
        said = f"No segmenter: {why[0]}." if why and why[0] else "No segmenter was trained."
        return section.add(Paragraph(said[0].upper() + said[1:]))
    c = info.config.segmenter
    views = f"flip + scales {list(c.tta_scales)}" if c.tta_flip else f"scales {list(c.tta_scales)}"
    section.add(
        Paragraph(
            f"Segmenter: {training['arch']} over {training['backbone']}, trained at "
            f"{training['image_size']} px; prediction at each image's own resolution with "
            f"test-time augmentation ({views}){' and a dense CRF' if c.crf else ''}."
        )
    )
    if s is not None:
        section.add(*segmentation_improvements(evaluation, training))
        section.add(Bullets(segmentation_findings(s)))
        caption = f"Segmentation on the {evaluation.split}; {INTERVALS}."
        section.add(scores_table(s["summary"], s.get("intervals"), caption))
        section.add(
            *_figures(
                folder,
                evaluation,
                "segmenter_per_class_iou",
                "segmenter_confusion",
                "segmenter_best_worst",
            )
        )
    section.add(*_figures(folder, evaluation, "segmenter_curves", "test_predictions"))
    return section


def attack_section(folder: RunFolder) -> Section:
    section = Section(TITLES[3])
    results = folder.read_attacks()
    if results is None:
        return section.add(Paragraph("No attacks were run (`vocvision attack RUN`)."))
    section.add(
        Paragraph(
            f"Threat model: {results.threat_model}. {results.images} images of the "
            f"run's {results.split} split.",
            True,
        ),
        Bullets(attack_findings(results)),
    )
    if results.skipped:
        section.add(Paragraph(f"Left out to fit the time budget: {'; '.join(results.skipped)}."))
    columns = ("clean", "adversarial", "ratio", "fooling_rate", "success", "psnr", "ssim")
    rows = [
        [r.model, r.name, r.metric, *(number(getattr(r, k), 3) for k in columns)]
        for r in results.rows
    ]
    section.add(Table(["model", "attack", "metric", *columns], rows, "Every attack measured."))
    names = [name.removesuffix(".png") for name in results.figures]
    section.add(*figures_matching(folder.layout.attacks_dir, results.figures, names))
    return section

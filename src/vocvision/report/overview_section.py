"""Section 1 of the hand-in: 1.1 the compute and libraries, 1.2 the data, 1.3 the Kaggle
submission, from run.json, job.json, the evaluation and the score."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import torch

from ..data import image_groups
from ..runfolder import Evaluation, RunFolder, RunInfo
from ..training import training_precision
from .document import Paragraph, Section, Table, figures_matching, number, scores_table

INTERVALS = "intervals: 95 % percentile bootstrap over the images"
MODEL_WORDS = {"classifier": "a multi-label classifier", "segmenter": "a semantic segmenter"}
LIBRARIES = (
    ("torch", "tensors, autograd, the models' layers"),
    ("torchvision", "image transforms (v2) and decoding"),
    ("timm", "pretrained ImageNet backbones"),
    ("segmentation-models-pytorch", "U-Net, FPN and DeepLabV3+ decoders"),
    ("lightning", "the training loop, checkpoints, early stopping, DDP"),
    ("torchmetrics", "validation metrics during training"),
    ("iterative-stratification", "label-stratified splits and folds"),
    ("vocvision", "this pipeline: data, training, RLE, attacks, report"),
)


def overview_section(folder: RunFolder, info: RunInfo, evaluation: Evaluation) -> Section:
    section = Section("Overview and data")
    section.subsections += [
        _compute(folder, info),
        _data(folder, info, evaluation),
        _submission(folder, evaluation),
    ]
    return section


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _compute(folder: RunFolder, info: RunInfo) -> Section:
    sub = Section("Deep-learning resources")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    c = info.config
    precision = c.precision
    if precision == "auto":
        precision = f"auto ({training_precision(c)} on this machine)"
    sub.add(
        Paragraph(
            f"Settings: accelerator {c.accelerator}, devices {c.devices}, training precision "
            f"{precision}. The machine that wrote this report has {torch.get_num_threads()} "
            f"CPU threads for PyTorch and GPU: {gpu}. Everything is designed to fit a laptop "
            "CPU: pretrained ImageNet encoders (so few epochs suffice), a time budget split "
            "into stages, each fitting its epochs and images to its share."
        ),
        Table(
            ["library", "version", "used for"],
            [[name, _installed(name), use] for name, use in LIBRARIES],
            "The libraries used.",
        ),
    )
    job = folder.read_job()
    if job:
        rows = [
            [s.name, f"{s.allotted_s:.0f}", f"{s.seconds:.0f}", s.status, s.note]
            for s in job.stages
        ]
        caption = f"The stages of `vocvision run` in a budget of {job.budget_s / 60:.0f} minutes."
        sub.add(Table(["stage", "share s", "took s", "status", "what"], rows, caption))
    return sub


def _data(folder: RunFolder, info: RunInfo, evaluation: Evaluation) -> Section:
    sub = Section("The data")
    d = evaluation.data
    trained = [MODEL_WORDS[name] for name in MODEL_WORDS if name in evaluation.training]
    sub.add(
        Paragraph(
            f"vocvision trained {' and '.join(trained) or 'no model'} on "
            f"{info.data_dir.name} ({d['train_images']} training images, {len(d['classes'])} "
            f"classes{'' if d['has_background'] else ', no background class'}) and "
            f"predicted its test split ({d['test_images']} images). Each training image has "
            "a 0/1 label per class (the classification target) and, where masks exist, a "
            "class index per pixel (the segmentation target); the test images' labels are "
            "unknown (-1 in the competition's table). The training images were split, "
            f"stratified by label, into a training part ({d['train_part']}) and a validation "
            f"part ({d['val_part']}) that chooses thresholds and the best epoch"
            f"{_grouping(info)}; scores below are on the {evaluation.split}."
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
    names = ("class_balance", "sample_images", "label_cooccurrence")
    figures_dir = folder.layout.evaluation_dir / "figures"
    return sub.add(*figures_matching(figures_dir, evaluation.figures, names))


def _grouping(info: RunInfo) -> str:
    """How related images were kept apart, when the run was told (`group_pattern`)."""
    pattern = info.config.group_pattern
    if pattern is None:
        return ""
    groups = len(set(image_groups(info.train_ids + info.val_ids, pattern)))
    return (
        f", keeping each group of images that the pattern '{pattern}' names in their ids "
        f"({groups} groups, such as one video sequence) on one side, and in one fold of the "
        "classifier's out-of-fold predictions, so that no validation score rests on near "
        "copies of training images"
    )


def _submission(folder: RunFolder, evaluation: Evaluation) -> Section:
    sub = Section("The Kaggle submission")
    sub.add(
        Paragraph(
            "submission.csv has the columns Id and Predicted and two rows per test image: "
            "`<id>_classification`, the run-length encoding (RLE) of the image's 0/1 label "
            "vector, and `<id>_segmentation`, the RLE of its K x H x W stack of class masks "
            "(one 0/1 mask per class, background left out). An RLE lists (start, length) "
            "pairs of the runs of ones, 1-indexed, in row-major order. Kaggle scores each row "
            "by the Dice of its set with the true set (1 when both are empty) and averages "
            "over all rows, so both tasks weigh equally. The code cell below calls the "
            "encoder on the first test image, then writes and validates the whole file."
        )
    )
    score = folder.read_score()
    if score:
        halves = {k: score[k] for k in ("dice", "classification_dice", "segmentation_dice")}
        images = f", {score['images']} images" if score.get("images") else ""
        caption = f"Kaggle mean Dice of submission.csv, test split{images}; {INTERVALS}."
        sub.add(scores_table(halves, score.get("intervals"), caption))
    elif folder.layout.submission.is_file():
        sub.add(Paragraph("The test answers are hidden: submission.csv is not scored.", True))
    else:
        sub.add(Paragraph("No submission.csv: its rows need a segmenter's masks.", True))
    return sub

"""The HTML report of a run: data overview, training curves, scores, predictions."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import ImageSet, read_answered_split, read_split
from ..fileio import write_text
from . import figures

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{border-bottom:2px solid #4a7ab5}h2{margin-top:1.6em;color:#2d4f7c}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
img{max-width:100%}.note{color:#555;font-size:.9em}"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: dict[str, float]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.4f}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


def _data_section(meta: dict) -> str:
    images = read_split(meta["data_dir"], meta["train_split"])
    rows = [
        (s.id, [s.image, figures.overlay(s.image, s.mask)] if s.mask is not None else [s.image])
        for s in images.samples[:4]
    ]
    titles = ["image", "mask"] if images.samples[0].mask is not None else ["image"]
    return (
        "<h2>Data</h2>"
        f"<p>{len(images)} training images, {images.num_classes} classes: "
        f"{html.escape(', '.join(images.classes))}. Training used {len(meta['train_ids'])}, "
        f"validation {len(meta['val_ids'])} (multilabel-stratified split).</p>"
        + _img(figures.class_balance(images), "class balance")
        + _img(figures.image_grid(rows, titles, images.classes), "sample images")
    )


def _training_section(run_dir: Path, meta: dict) -> str:
    parts = ["<h2>Training</h2>"]
    # A probe has no epochs; logs in its folder belong to an earlier fine-tuning run.
    probe = meta["config"]["classifier"].get("method", "finetune") == "probe"
    for kind in ("segmenter",) if probe else ("classifier", "segmenter"):
        metrics_csv = run_dir / kind / "logs" / "metrics.csv"
        if metrics_csv.is_file():
            metrics = pd.read_csv(metrics_csv)
            parts.append(_img(figures.training_curves(metrics, kind), f"{kind} curves"))
            best = {
                c: metrics[c].max() for c in ("val/mAP", "val/mIoU", "val/dice") if c in metrics
            }
            parts.append(f"<p>{kind}, best validation: {_table(best)}</p>")
    labelling = run_dir / "classifier" / "labelling.json"
    if labelling.is_file():
        rule = json.loads(labelling.read_text())
        how = (
            "classifier alone"
            if rule["fusion_area_scale"] is None
            else f"classifier fused with segmenter areas (scale {rule['fusion_area_scale']})"
        )
        parts.append(
            f"<p>Image labels, chosen on the validation split ({rule['val_images']} images): "
            f"{how}, {_thresholds_text(rule['threshold'])}; per-image Dice {rule['val_dice']:.4f} "
            f"(classifier alone {rule['val_dice_classifier_only']:.4f}).</p>"
        )
    return "".join(parts)


def _thresholds_text(threshold) -> str:
    if isinstance(threshold, list):
        return "per-class thresholds (table below)"
    return f"threshold {threshold}"


def _classification_section(run_dir: Path, meta: dict, answers: ImageSet | None) -> str:
    """Per-class table and figures of the classifier's label scores: on the test split when
    its `answers` are known, else on the probe's out-of-fold predictions of the training
    images."""
    from ..inference import apply_thresholds
    from ..metrics import classification_metrics
    from ..pipeline import Predictions, labelling
    from ..training.probe import OOF_FILE, read_oof

    rule = labelling(run_dir)
    path = run_dir / "predictions" / f"{meta['test_split']}.npz"
    if path.is_file() and answers is not None:
        truth = answers.label_matrix()
        scores, where = Predictions.load(path).probabilities, f"test split ({len(truth)} images)"
    elif (run_dir / "classifier" / OOF_FILE).is_file():
        oof = read_oof(run_dir / "classifier")
        scores, truth = oof["probabilities"], oof["labels"]
        where = f"out-of-fold, training images ({len(truth)})"
    else:
        return ""
    predicted = apply_thresholds(scores, np.asarray(rule["threshold"]), rule["at_least_one"])
    m = classification_metrics(scores, truth, predicted)
    classes = meta["classes"]
    thresholds = np.broadcast_to(np.asarray(rule["threshold"], dtype=float), (len(classes),))
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{int(truth[:, k].sum())}</td>"
        f"<td>{m['per_class_ap'][k]:.3f}</td><td>{m['per_class_f1'][k]:.3f}</td>"
        f"<td>{thresholds[k]:.2f}</td></tr>"
        for k, name in enumerate(classes)
    )
    summary = {k: m[k] for k in ("dice", "mAP", "f1_micro", "f1_macro", "precision", "recall")}
    train_labels = read_split(meta["data_dir"], meta["train_split"]).label_matrix()
    return (
        f"<h2>Classification: {where}</h2>"
        + _table(summary)
        + "<table><tr><th>class</th><th>positives</th><th>AP</th><th>F1</th>"
        + f"<th>threshold</th></tr>{rows}</table>"
        + _img(
            figures.precision_recall_curves(
                scores, truth, classes, m["per_class_ap"], f"PR curves, {where}"
            ),
            "classifier PR curves",
        )
        + _img(
            figures.label_cooccurrence(train_labels, classes, "P(column | row), training labels"),
            "label co-occurrence",
        )
    )


def _segmentation_section(run_dir: Path, meta: dict, answers: ImageSet | None) -> str:
    """Segmentation metrics on the test split (when its masks are known): summary, per-class
    IoU bars, confusion matrix, the best and worst images with their error maps."""
    from ..metrics import mask_dice, segmentation_metrics
    from ..pipeline import Predictions

    path = run_dir / "predictions" / f"{meta['test_split']}.npz"
    if not path.is_file() or answers is None or any(s.mask is None for s in answers.samples):
        return ""
    predictions = Predictions.load(path)
    if not predictions.masks:
        return ""
    truths = [s.mask for s in answers.samples]
    m = segmentation_metrics(predictions.masks, truths, answers.num_classes, answers.has_background)
    first = 0 if answers.has_background else 1
    names = ["background", *answers.classes][first:]
    iou, confusion = m["per_class_iou"][first:], m["confusion"][first:, first:]
    summary = {k: m[k] for k in ("mIoU", "mean_dice", "pixel_accuracy", "kaggle_dice")}
    summary |= {k: m[k] for k in ("dice", "iou", "precision", "recall") if k in m}
    where = f"test split ({len(truths)} images)"
    parts = [
        f"<h2>Segmentation: {where}</h2><ul>",
        *(f"<li>{html.escape(line)}</li>" for line in _segmentation_findings(m, names, first)),
        "</ul>",
        _table(summary),
        _img(figures.class_bars(names, iou, "IoU", f"Per-class IoU, {where}"), "per-class IoU"),
        _img(
            figures.confusion_heatmap(confusion, names, f"Pixel confusion (row = truth), {where}"),
            "confusion matrix",
        ),
    ]
    dice = [mask_dice(p, t) for p, t in zip(predictions.masks, truths, strict=True)]
    order = np.argsort(dice)
    picks = [("best", i) for i in order[::-1][:3]] + [("worst", i) for i in order[:3]]
    rows = []
    for tag, i in picks:
        sample, pred = answers.samples[i], predictions.masks[i]
        panels = [
            sample.image,
            figures.overlay(sample.image, sample.mask),
            figures.overlay(sample.image, pred),
            figures.error_map(pred, sample.mask),
        ]
        rows.append((f"{tag}: {sample.id}\nDice {dice[i]:.3f}"[:60], panels))
    grid = figures.image_grid(rows, ["image", "truth", "prediction", "errors"], answers.classes)
    parts.append(_img(grid, "best and worst segmentations"))
    return "".join(parts)


def _segmentation_findings(m: dict, names: list[str], first: int) -> list[str]:
    """Plain sentences on what the segmentation metrics say."""
    iou = m["per_class_iou"][first:]
    scored = [(v, n) for v, n in zip(iou, names, strict=True) if not np.isnan(v)]
    scored.sort(reverse=True)
    lines = [
        f"mIoU {m['mIoU']:.3f} over {len(scored)} classes; pixel accuracy "
        f"{m['pixel_accuracy']:.3f}, Kaggle per-image Dice {m['kaggle_dice']:.3f}."
    ]
    if len(scored) > 1:
        best = ", ".join(f"{n} {v:.2f}" for v, n in scored[:3])
        worst = ", ".join(f"{n} {v:.2f}" for v, n in scored[::-1][:3])
        lines.append(f"Best classes by IoU: {best}; worst: {worst}.")
    confusion = m["confusion"][first:, first:].astype(float)
    # Shares of each true class's pixels, as the confusion heat-map shows them.
    off = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    np.fill_diagonal(off, 0)
    if off.max() > 0:
        t, p = np.unravel_index(off.argmax(), off.shape)
        lines.append(
            f"Most confused: {names[t]} predicted as {names[p]} ({off[t, p]:.0%} of "
            f"{names[t]} pixels)."
        )
    if m["pixel_accuracy"] - m["mIoU"] > 0.15:
        lines.append(
            "Pixel accuracy is far above mIoU: large classes are right, small or rare ones are not."
        )
    return lines


def _study_section(run_dir: Path) -> str:
    """Ablation tables and the auto-written discussion, when `vocvision study` wrote them."""
    from ..study import STUDY_FILE, discussion

    path = run_dir / "study" / STUDY_FILE
    if not path.is_file():
        return ""
    study = json.loads(path.read_text())
    parts = ["<h2>What worked (classification study)</h2><ul>"]
    parts += [f"<li>{html.escape(line)}</li>" for line in discussion(study)]
    parts.append("</ul>")
    columns = ("dice", "mAP", "f1_micro", "f1_macro")
    for protocol, section in study.items():
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = "".join(
            f"<tr><th>{html.escape(r.get('label', r['name']))}</th>"
            + "".join(f"<td>{r[c]:.4f}</td>" for c in columns)
            + "</tr>"
            for r in section["rows"]
        )
        parts.append(
            f"<p>{protocol.replace('_', ' ')} ({section['images']} images)</p>"
            f"<table><tr><th>variant</th>{head}</tr>{body}</table>"
        )
    return "".join(parts)


def _attack_section(run_dir: Path) -> str:
    """Threat model, findings, results table and figures, when `vocvision attack` ran."""
    from ..robustness import ATTACK_DIR, RESULTS_FILE, summary

    folder = run_dir / ATTACK_DIR
    path = folder / RESULTS_FILE
    if not path.is_file():
        return ""
    results = json.loads(path.read_text())
    parts = [
        "<h2>Adversarial attacks</h2>",
        f"<p class=note>Threat model: {html.escape(results['threat_model'])}. "
        f"{results['images']} images of the '{html.escape(results['split'])}' split.</p><ul>",
    ]
    parts += [f"<li>{html.escape(line)}</li>" for line in summary(results)]
    columns = ("clean", "adversarial", "ratio", "fooling_rate", "success", "psnr", "ssim")
    head = "".join(f"<th>{c}</th>" for c in ("model", "attack", "metric", *columns))
    body = "".join(
        f"<tr><th>{r['model']}</th><th>{html.escape(r['attack'])}</th><td>{r['metric']}</td>"
        + "".join("<td>-</td>" if r[c] is None else f"<td>{r[c]:.3f}</td>" for c in columns)
        + "</tr>"
        for r in results["rows"]
    )
    parts.append(f"</ul><table><tr>{head}</tr>{body}</table>")
    for png in sorted(folder.glob("*.png")):
        parts.append(f"<p>{png.stem.replace('_', ' ')}</p>" + _img(png.read_bytes(), png.stem))
    return "".join(parts)


def _score_section(run_dir: Path) -> str:
    path = run_dir / "score.json"
    if not path.is_file():
        return (
            "<h2>Scores</h2><p class=note>No truth for the test split: submission not scored.</p>"
        )
    score = json.loads(path.read_text())
    rows = {k: score[k] for k in ("dice", "classification_dice", "segmentation_dice")}
    return (
        "<h2>Scores (test split, Kaggle mean Dice)</h2>"
        + _table(rows)
        + f"<p class=note>Seconds: {html.escape(json.dumps(score.get('seconds', {})))}</p>"
    )


def _predictions_section(run_dir: Path, meta: dict, answers: ImageSet | None) -> str:
    from ..pipeline import Predictions, labelling

    path = run_dir / "predictions" / f"{meta['test_split']}.npz"
    if not path.is_file():
        return ""
    predictions = Predictions.load(path)
    test = read_split(meta["data_dir"], meta["test_split"])
    source = answers.samples if answers is not None else test.samples
    truth_masks = {s.id: s.mask for s in source if s.mask is not None}
    rule = labelling(run_dir)
    predicted = predictions.labels(rule["threshold"], rule["at_least_one"])
    rows = []
    for sample, present, mask in list(
        zip(test.samples, predicted, predictions.masks, strict=False)
    )[:6]:
        labels = [predictions.classes[k] for k in np.flatnonzero(present)]
        panels = [sample.image, figures.overlay(sample.image, mask)]
        if sample.id in truth_masks:
            panels.append(figures.overlay(sample.image, truth_masks[sample.id]))
        rows.append((f"{sample.id}\npredicted: {', '.join(labels) or '-'}"[:60], panels))
    titles = ["image", "prediction", "truth"][: len(rows[0][1])]
    grid = figures.image_grid(rows, titles, predictions.classes)
    return "<h2>Test predictions</h2>" + _img(grid, "predictions")


def write_report(run_dir: str | Path) -> Path:
    """Write `run_dir/report.html` (atomically) from what the run folder holds."""
    from ..pipeline import read_run_info

    run_dir = Path(run_dir)
    meta = read_run_info(run_dir)
    answers = read_answered_split(meta["data_dir"], meta["test_split"])
    body = (
        f"<h1>vocvision report: {html.escape(run_dir.name)}</h1>"
        + _data_section(meta)
        + _training_section(run_dir, meta)
        + _score_section(run_dir)
        + _classification_section(run_dir, meta, answers)
        + _segmentation_section(run_dir, meta, answers)
        + _study_section(run_dir)
        + _predictions_section(run_dir, meta, answers)
        + _attack_section(run_dir)
    )
    path = run_dir / "report.html"
    write_text(
        path,
        f"<!doctype html><html><head><meta charset=utf-8><title>vocvision report</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>\n",
    )
    return path

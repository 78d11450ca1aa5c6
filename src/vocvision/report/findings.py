"""Sentences written from a run's own numbers: every number in them was measured."""

from __future__ import annotations

import numpy as np

from ..runfolder import AttackResults, StudySection


def segmentation_findings(segmentation: dict) -> list[str]:
    """What the segmentation metrics say: the headline, the best and worst classes, the
    worst confusion, and whether large classes hide small ones."""
    m = segmentation["summary"]
    names, iou = segmentation["classes"], np.array(segmentation["per_class_iou"], dtype=float)
    scored = sorted(
        ((v, n) for v, n in zip(iou, names, strict=True) if not np.isnan(v)), reverse=True
    )
    lines = [
        f"mIoU {m['mIoU']:.3f} over {len(scored)} classes; pixel accuracy "
        f"{m['pixel_accuracy']:.3f}, Kaggle per-image Dice {m['kaggle_dice']:.3f}."
    ]
    if len(scored) > 1:
        best = ", ".join(f"{n} {v:.2f}" for v, n in scored[:3])
        worst = ", ".join(f"{n} {v:.2f}" for v, n in scored[::-1][:3])
        lines.append(f"Best classes by IoU: {best}; worst: {worst}.")
    confusion = np.array(segmentation["confusion"], dtype=float)
    off = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    np.fill_diagonal(off, 0)
    if off.size and off.max() > 0:
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


def pgd_and_noise(rows: list) -> tuple:
    """The plain (no defence, not a curve point) PGD and noise rows of one model's `rows`."""
    plain = [r for r in rows if not r.curve and not r.defence]
    pick = lambda attack: next((r for r in plain if r.attack == attack), None)  # noqa: E731
    return pick("pgd"), pick("noise")


def pgd_against_noise(pgd, noise) -> str:
    """The one sentence on PGD against random noise of the same budget (section 4 and 5)."""
    metric = METRIC_NAMES.get(pgd.metric, pgd.metric)
    return (
        f"{pgd.name} leaves {pgd.ratio:.0%} of the clean {metric} "
        f"(PSNR {pgd.psnr:.1f} dB, SSIM {pgd.ssim:.3f}); random noise of the same budget "
        f"leaves {noise.ratio:.0%}"
    )


def attack_findings(results: AttackResults) -> list[str]:
    """Plain-language findings of the attack suite, per model."""
    lines = []
    for model in ("classifier", "segmenter"):
        rows = [r for r in results.rows if r.model == model]
        if not rows:
            continue
        first = rows[0]
        lines.append(
            f"The {model}'s clean {first.metric} is {first.clean:.3f} on these {first.images} "
            "images at its input size, without test-time views: a different subset and "
            "resolution from the scores of the sections above, so the numbers differ."
        )
        plain = [r for r in rows if not r.curve and not r.defence]
        pgd, noise = pgd_and_noise(rows)
        if noise and pgd:
            lines.append(
                f"{pgd_against_noise(pgd, noise)}, so the damage comes from the gradient's "
                "direction, not the perturbation's size."
            )
        for r in plain:
            if r.success is not None:
                before = "" if r.clean_success is None else f" ({r.clean_success:.0%} clean)"
                lines.append(f"{r.name}: targeted success {r.success:.0%}{before}.")
            elif r.attack in ("universal", "transfer"):
                lines.append(
                    f"{r.name}: fooling rate {r.fooling_rate:.0%}, {r.metric} ratio {r.ratio:.0%}."
                )
                # noise can even help a little (ratio > 1): compare with "no damage"
                if r.attack == "universal" and noise and r.ratio >= min(noise.ratio, 1) - 0.02:
                    lines.append(
                        f"The universal perturbation did no better than random noise (which "
                        f"leaves {noise.ratio:.0%} at {noise.eps_255:g}/255): one pattern for "
                        "every image found no weakness the images share, unlike the "
                        "per-image attacks."
                    )
        for r in (r for r in rows if r.defence):
            lines.append(f"{r.name}: {r.metric} {r.adversarial:.3f} ({r.ratio:.0%} of clean).")
        if any(r.defence and r.adaptive is False for r in rows):
            lines.append(
                "Input transforms look strong only against attacks that ignore them; the "
                "adaptive rows (gradients through the blur, straight through JPEG) are the "
                "honest numbers."
            )
    return lines


METRIC_NAMES = {"dice": "per-image Dice", "mIoU": "mIoU", "mAP": "mAP"}

# (variant, compared with, what the comparison measures)
STUDY_COMPARISONS = (
    ("probe_no_tta", "scratch", "ImageNet pretraining (frozen probe vs scratch CNN)"),
    ("finetune", "probe_no_tta", "Fine-tuning the whole backbone instead of a probe"),
    ("finetune_2stage", "finetune", "Two-stage fine-tuning (head first)"),
    ("probe", "probe_bce", "Class-weighted BCE (instead of BCE)"),
    ("probe_asl", "probe_bce", "Asymmetric loss (instead of BCE)"),
    ("probe_per_class", "probe", "Per-class thresholds"),
    ("probe", "probe_no_min_label", "Forcing at least one label"),
    ("probe", "probe_no_tta", "Flip test-time augmentation"),
    ("probe_multiscale", "probe", "Adding scales to the test-time augmentation"),
    ("probe_fusion", "probe", "Fusing with the segmenter's class areas"),
)


def compare(new: dict, old: dict, what: str, metric: str = "dice") -> str:
    """'X helped: per-image Dice a vs b (+d).' (within 0.005: no real difference)."""
    gain = new[metric] - old[metric]
    verdict = "helped" if gain > 0.005 else "hurt" if gain < -0.005 else "made no real difference"
    label = METRIC_NAMES.get(metric, metric)
    return f"{what} {verdict}: {label} {new[metric]:.3f} vs {old[metric]:.3f} ({gain:+.3f})."


def study_findings(study: dict[str, StudySection]) -> list[str]:
    """Short sentences on what worked in the classification study (holdout first)."""
    lines = []
    if "holdout" in study:
        rows = {r["name"]: r for r in study["holdout"].rows}
        best = max(rows.values(), key=lambda r: r["dice"])
        lines.append(
            f"Best on the held-out split: {best['label']} (per-image Dice {best['dice']:.3f}, "
            f"mAP {best['mAP']:.3f}, trained in {best['train_s']:.0f} s)."
        )
        lines += [
            compare(rows[new], rows[old], what)
            for new, old, what in STUDY_COMPARISONS
            if new in rows and old in rows
        ]
    if "cross_validation" in study:
        cv = study["cross_validation"]
        best = max(cv.rows, key=lambda r: r["dice"])
        base = next((r for r in cv.rows if r["name"] == "bce | global threshold | tta none"), None)
        text = (
            f"{cv.folds}-fold cross-validation on {cv.images} images: best rule "
            f"'{best['name']}' with per-image Dice {best['dice']:.3f}"
        )
        if base:
            text += f" (BCE, one global threshold, no TTA: {base['dice']:.3f})"
        lines.append(text + ".")
    return lines

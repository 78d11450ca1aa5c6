"""Section 5: the discussion, written from the run's own numbers.

Every sentence that states a number reads it from what the run measured (the evaluation, the
baselines, the attacks); the rest says what the numbers mean, what the literature expects
and what the run cannot tell. A paragraph whose numbers were not measured is left out.
"""

from __future__ import annotations

import numpy as np

from ..inference import LabellingRule
from ..runfolder import AttackResults, Evaluation
from .document import Bullets, Paragraph, Section
from .findings import pgd_against_noise, pgd_and_noise

REFERENCES = (
    "O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation. MICCAI 2015.",
    "T.-Y. Lin, P. Dollar, R. Girshick, K. He, B. Hariharan, S. Belongie. Feature Pyramid "
    "Networks for Object Detection. CVPR 2017.",
    "M. Tan, Q. V. Le. EfficientNet: Rethinking Model Scaling for Convolutional Neural "
    "Networks. ICML 2019.",
    "P. Kraehenbuehl, V. Koltun. Efficient Inference in Fully Connected CRFs with Gaussian "
    "Edge Potentials. NeurIPS 2011.",
    "I. Goodfellow, J. Shlens, C. Szegedy. Explaining and Harnessing Adversarial Examples. "
    "ICLR 2015.",
    "A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. Towards Deep Learning Models "
    "Resistant to Adversarial Attacks. ICLR 2018.",
    "J. Gu, H. Zhao, V. Tresp, P. Torr. SegPGD: An Effective and Efficient Adversarial Attack "
    "for Evaluating and Boosting Segmentation Robustness. ECCV 2022.",
    "S. Agnihotri, M. Keuper. CosPGD: an Efficient White-Box Adversarial Attack for Pixel-Wise "
    "Prediction Tasks. ICML 2024 (arXiv 2023).",
    "S.-M. Moosavi-Dezfooli, A. Fawzi, O. Fawzi, P. Frossard. Universal Adversarial "
    "Perturbations. CVPR 2017.",
    "O. Poursaeed, I. Katsman, B. Gao, S. Belongie. Generative Adversarial Perturbations. "
    "CVPR 2018.",
    "A. Athalye, N. Carlini, D. Wagner. Obfuscated Gradients Give a False Sense of Security. "
    "ICML 2018.",
    "K. Eykholt et al. Robust Physical-World Attacks on Deep Learning Visual Classification. "
    "CVPR 2018.",
    "S. Thys, W. Van Ranst, T. Goedeme. Fooling Automated Surveillance Cameras: Adversarial "
    "Patches to Attack Person Detection. CVPR Workshops 2019.",
)


def discussion_section(evaluation: Evaluation, attacks: AttackResults | None) -> Section:
    """What the numbers say, where the models fail, how robust they are, and the limits."""
    section = Section("Discussion")
    paragraphs = [
        _pretraining(evaluation),
        _labelling(evaluation),
        _inference(evaluation),
        _failures(evaluation),
        _attacks(attacks),
        _limits(evaluation),
    ]
    section.add(*(Paragraph(p) for p in paragraphs if p))
    section.sub("Links to the course").add(Bullets(_course_links(evaluation, attacks)))
    section.sub("Real-world computer vision").add(Bullets(list(REAL_WORLD)))
    section.sub("References").add(Bullets(list(REFERENCES)))
    return section


REAL_WORLD = (
    "Driving: segmentation of road scenes (CamVid, Cityscapes) is what a car's perception "
    "does per frame; there the thin and small classes (poles, signs, pedestrians) matter "
    "most, so the weakest classes of section 3 are where to look first.",
    "Medicine: a U-Net was first built for microscopy; with a few hundred labelled scans, "
    "transfer from pretrained encoders and honest intervals on small validation sets are "
    "the rule, as in this run.",
    "Physical attacks: printed stickers and patches fool sign classifiers and person "
    "detectors in the real world (Eykholt et al. 2018, Thys et al. 2019); a generator that "
    "perturbs any image in one pass is the digital version of such a reusable attack.",
)


def _course_links(e: Evaluation, attacks: AttackResults | None) -> list[str]:
    """The lecture topics this run puts to work, each with where it shows."""
    links = [
        "Convolutional networks and transfer learning: ImageNet features against a CNN "
        "trained from scratch on the same images (sections 2 and 3).",
        "Multi-label classification: sigmoid outputs, per-image Dice, and a threshold chosen "
        "on held-out images instead of 0.5 (section 2).",
    ]
    if e.segmentation:
        links.append(
            "Semantic segmentation: encoder-decoder networks with skip connections (U-Net, "
            "FPN), IoU and Dice, test-time augmentation (section 3)."
        )
    if attacks is not None:
        links.append(
            "Adversarial examples: gradient attacks (FGSM, PGD), universal perturbations, "
            "a generator network, and why input transforms are weak defences (section 4)."
        )
    links.append(
        "Evaluation: a validation split kept apart from training, bootstrap intervals and "
        "paired comparisons, so an improvement is claimed only when it exceeds the noise."
    )
    return links


def _gain(new: float, old: float) -> str:
    return f"{new - old:+.3f}"


def _pretraining(e: Evaluation) -> str | None:
    baselines = e.baselines or {}
    parts = []
    cls, seg = baselines.get("classifier"), baselines.get("segmenter")
    if cls and e.classification:
        ours = e.classification["summary"]["dice"]
        parts.append(
            f"The pretrained classifier reaches a per-image Dice of {ours:.3f} on the {e.split}"
            f", the from-scratch CNN {cls['dice']:.3f} ({_gain(ours, cls['dice'])})"
        )
    unet = baselines.get("unet_pretrained")
    if seg and unet:
        parts.append(
            f"the same U-Net with the same recipe an mIoU of {unet['mIoU']:.3f} over the "
            f"pretrained encoder and {seg['mIoU']:.3f} from random weights "
            f"({_gain(unet['mIoU'], seg['mIoU'])})"
        )
    elif seg and e.segmentation:
        ours = e.segmentation["summary"]["mIoU"]
        parts.append(
            f"the segmenter over a pretrained encoder an mIoU of {ours:.3f}, the U-Net from "
            f"scratch {seg['mIoU']:.3f} ({_gain(ours, seg['mIoU'])})"
        )
    if not parts:
        return None
    segmenter_key = "segmenter_encoder" if unet else "segmenter_pretrained"
    names = {"classifier_pretrained": "classifier", segmenter_key: "segmenter"}
    verdicts = {
        model: e.comparisons[key]["verdict"] for key, model in names.items() if key in e.comparisons
    }
    held = [m for m, v in verdicts.items() if v == "better"]
    not_held = [m for m, v in verdicts.items() if v != "better"]
    text = "; ".join(parts) + "."
    if held:
        text += (
            f" For the {' and the '.join(held)} the gain holds under a paired bootstrap: with "
            f"{e.data['train_images']} training images a network cannot learn general visual "
            "features by itself, while ImageNet features (EfficientNet-Lite, Tan & Le 2019) "
            "transfer."
        )
    if not_held:
        text += (
            f" For the {' and the '.join(not_held)} this run does not show a gain that exceeds "
            "the noise of its evaluation images; more images (or a baseline that had not "
            "converged, see its subsection) are what to check before concluding."
        )
    return text


def _labelling(e: Evaluation) -> str | None:
    c, rule = e.classification, e.labelling
    if not c or not rule or "dice_at_half" not in c:
        return None
    threshold = rule["threshold"]
    cut = (
        "one threshold per class" if isinstance(threshold, list) else f"a threshold of {threshold}"
    )
    fused = rule.get("fusion_area_scale") is not None
    how = "fused with the segmenter's class areas" if fused else "of the classifier alone"
    paired = e.comparisons.get("labelling") or {}
    if paired.get("verdict") == "better":
        outcome = "; here that choice paid off."
    elif paired.get("difference", 0) > 0:
        outcome = (
            f"; here it gained {paired['difference']:+.3f}, within the noise of the "
            f"{paired.get('images', 'evaluation')} images that score it."
        )
    else:
        outcome = (
            "; here it did not beat 0.5: the images that chose it and the ones that score it "
            "disagree about where the cut should be."
        )
    return (
        f"Labels come from the scores {how} at {cut}, "
        f"{LabellingRule.provenance(rule.get('chosen_on'))}; on the "
        f"{e.split} that gives a per-image Dice of {c['summary']['dice']:.3f}, against "
        f"{c['dice_at_half']:.3f} for the classifier's probabilities at 0.5. The competition "
        "scores every image's label set with Dice, so the rule (the threshold, and whether to "
        "fuse) is chosen for that metric on images the model did not train on" + outcome
    )


def _inference(e: Evaluation) -> str | None:
    views = (e.segmentation or {}).get("views")
    if not views or len(views) < 2:
        return None
    names = list(views)
    text = ", ".join(f"{name} {views[name]['kaggle_dice']:.3f}" for name in names)
    return (
        f"Prediction at test time: Kaggle segmentation Dice {text} on the {e.split}. "
        "Averaging the mirrored or rescaled image's predictions cancels part of the model's "
        "variance; the dense CRF (Kraehenbuehl & Koltun 2011) pulls region borders to colour "
        "edges. Which view helps is read from the numbers above, not assumed."
    )


def _failures(e: Evaluation) -> str | None:
    s = e.segmentation
    if not s:
        return None
    iou = np.array(s["per_class_iou"], dtype=float)
    names = s["classes"]
    scored = [(v, n) for v, n in zip(iou, names, strict=True) if not np.isnan(v)]
    if len(scored) < 2:
        return None
    worst = sorted(scored)[:3]
    counts = dict(zip(e.data["classes"], e.data["class_images"], strict=True))
    listed = ", ".join(
        f"{n} (IoU {v:.2f}, in {counts[n]} training images)" if n in counts else f"{n} ({v:.2f})"
        for v, n in worst
    )
    median = float(np.median(e.data["class_images"]))
    rare = [n for _, n in worst if n in counts and counts[n] < median]
    common = [n for _, n in worst if n in counts and counts[n] >= median]
    why = []
    if rare:
        why.append(
            f"{_names(rare)} {'is' if len(rare) == 1 else 'are'} rarer than the median class "
            f"(in {median:.0f} training images): fewer examples to learn from is the first "
            "cause of a weak class."
        )
    if common:
        why.append(
            f"{_names(common)} {'is' if len(common) == 1 else 'are'} not rarer than the "
            "median class, so the shape is the likelier cause: regions thinner or smaller "
            "than one cell of the decoder's output grid lose most of their pixels at the "
            "borders."
        )
    why = " ".join(why)
    return f"The weakest classes are {listed}. {why}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _attacks(results: AttackResults | None) -> str | None:
    if results is None:
        return None
    lines = []
    for model in ("classifier", "segmenter"):
        rows = [r for r in results.rows if r.model == model and not r.defence]
        pgd, noise = pgd_and_noise(rows)
        if pgd and noise:
            line = f"For the {model}, {pgd_against_noise(pgd, noise)}"
            curve = sorted((r for r in rows if r.curve), key=lambda r: r.eps_255)
            if curve and curve[0].eps_255 < pgd.eps_255:
                low = curve[0]
                line += (
                    f", and PGD already at {low.eps_255:g}/255 (PSNR {low.psnr:.1f} dB) "
                    f"leaves {low.ratio:.0%}"
                )
            lines.append(line)
    if not lines:
        return None
    adaptive = [r for r in results.rows if r.defence and r.adaptive]
    defence = ""
    if adaptive:
        best = max(adaptive, key=lambda r: r.ratio)
        defence = (
            f" The best defence against an attacker who knows it ({best.defence}, "
            f"{best.model}) keeps {best.ratio:.0%}: input transforms mostly mask gradients "
            "(Athalye et al. 2018)."
        )
    return (
        ". ".join(lines) + ". Perturbations far below what a person notices change the "
        "predictions entirely, as Madry et al. (2018) found for PGD, and SegPGD and CosPGD "
        "(Gu et al. 2022; Agnihotri & Keuper 2023) find for segmenters: the models rely on "
        "features that are not the ones people use." + defence
    )


def _limits(e: Evaluation) -> str:
    n = e.data["val_part"]
    rests = f"the {e.images} images of the " if e.images else "the "
    marked = [c for c in e.comparisons.values() if c["verdict"] == "better"]
    others = len(e.comparisons) - len(marked)
    rest = {0: "", 1: "; the other one did not"}.get(others, f"; the other {others} did not")
    noise = (
        f"Every score above rests on {rests}{e.split.split(' (')[0]} and comes with a 95 % "
        f"bootstrap interval over those images; of the {len(e.comparisons)} comparisons "
        f"(baselines, labelling, test-time views) {len(marked)} held up under a paired "
        f"bootstrap and are marked as improvements{rest}. "
        if e.comparisons
        else ""
    )
    return (
        f"Limits: {noise}The epochs were chosen on a validation part of {n} images, where one "
        f"image moves a mean by 1/{n}; the numbers above come from one seed and one split, so "
        "differences of a few thousandths are noise. More training "
        "images, more epochs and larger encoders at full resolution, which a GPU makes "
        "affordable, are what the literature expects to help most; this run does not "
        "measure them."
    )

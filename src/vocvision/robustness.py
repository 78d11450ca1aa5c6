"""Attacking a trained run: which attacks, on which images, scored how, and what is kept.

`attack_run` is what `vocvision attack` and `benchmarks/msrc_attacks.py` run. For each model
of the run (the classifier and the segmenter, each a `Victim`) it measures, on one split:
clean; random noise, FGSM and PGD at the budget; a targeted PGD (classifier: the label set
replaced by one class the image does not have; segmenter: every pixel to background); the
transfer of the other model's PGD images; a PGD robustness curve over eps; optionally a
universal perturbation and a trained generator (learnt on the training split) and the
defences. Rows go to `RUN/attacks/results.json`, example figures and the PGD adversarial PNGs
(at the model's input size, 8-bit: they reproduce the numbers) beside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import pipeline
from .attacks import FGSM, PGD, Attack, GeneratorAttack, RandomNoise, UniversalPerturbation
from .attacks.measure import (
    exact_match_rate,
    fooling_rate,
    label_scores,
    mask_scores,
    model_images,
    model_masks,
    outputs,
    perturbation_stats,
    pixel_success_rate,
    predicted_labels,
    run_attack,
)
from .data.sample import IGNORE_INDEX, ImageSet
from .defences import JPEG, GaussianBlur, adversarial_finetune, defended
from .fileio import atomic_path, write_json
from .report import figures

log = logging.getLogger(__name__)
ATTACK_DIR, RESULTS_FILE = "attacks", "results.json"


@dataclass
class Victim:
    """A trained model under attack and how its outputs become predictions and scores."""

    kind: str  # "classifier" | "segmenter"
    model: nn.Module
    size: int  # input size: attacks work in this pixel space
    classes: list[str]
    threshold: float | list[float] = 0.5
    at_least_one: bool = True

    @property
    def metric(self) -> str:
        return "dice" if self.kind == "classifier" else "mIoU"

    @property
    def options(self) -> dict:
        """The attack options that fit this model's output."""
        if self.kind == "classifier":
            return {"threshold": self.threshold}
        return {"weighting": "segpgd"}

    def inputs(
        self, images: ImageSet, size: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images at the model's size and their truth (multi-hot labels or masks)."""
        size = size or self.size
        if self.kind == "classifier":
            return model_images(images, size), torch.from_numpy(images.label_matrix()).float()
        return model_images(images, size), model_masks(images, size)

    def predict(self, images: torch.Tensor, model: nn.Module | None = None) -> np.ndarray:
        logits = outputs(model or self.model, images)
        if self.kind == "classifier":
            return predicted_labels(logits, self.threshold, self.at_least_one)
        return logits.argmax(1).numpy()

    def score(self, predicted: np.ndarray, truth: torch.Tensor) -> float:
        if self.kind == "classifier":
            return label_scores(predicted, truth.numpy())["dice"]
        return mask_scores(predicted, truth.numpy(), len(self.classes) + 1)["mIoU"]

    def success(self, predicted: np.ndarray, goal: torch.Tensor) -> float:
        if self.kind == "classifier":
            return exact_match_rate(predicted, goal.numpy())
        return pixel_success_rate(predicted, goal.numpy())


def load_victims(run_dir: str | Path) -> dict[str, Victim]:
    """The run's trained models as victims, the classifier with the run's labelling rule."""
    info = pipeline.read_run_info(run_dir)
    rule = pipeline.labelling(run_dir, info["config"])
    victims = {}
    for kind, (model, hparams) in pipeline.load_run_models(run_dir, info["config"]).items():
        victims[kind] = Victim(
            kind,
            model,
            hparams["image_size"],
            info["classes"],
            rule["threshold"],
            rule["at_least_one"],
        )
    return victims


def absent_class_goal(truth: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Targeted classifier goal: each image's label set replaced by one random class it does
    not have."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.rand(truth.shape, generator=generator) - 2 * truth
    return torch.nn.functional.one_hot(scores.argmax(1), truth.shape[1]).float()


def background_goal(masks: torch.Tensor) -> torch.Tensor:
    """Targeted segmenter goal: every labelled pixel becomes background."""
    return torch.where(masks == IGNORE_INDEX, masks, torch.zeros_like(masks))


def measure(
    victim: Victim,
    name: str,
    eps: float,
    images: torch.Tensor,
    adversarial: torch.Tensor,
    truth: torch.Tensor,
    seconds: float = 0.0,
    goal: torch.Tensor | None = None,
    model: nn.Module | None = None,
) -> dict:
    """One results row for an attack with budget `eps`: the metric clean and under attack,
    its ratio, the fooling rate (and targeted success with a `goal`), the perturbation's size
    and visibility. `model` replaces the victim's own (a defended or fine-tuned copy)."""
    clean_pred, adv_pred = victim.predict(images, model), victim.predict(adversarial, model)
    clean, adv = victim.score(clean_pred, truth), victim.score(adv_pred, truth)
    row = {
        "model": victim.kind,
        "attack": name,
        "eps_255": round(eps * 255, 3),
        "metric": victim.metric,
        "clean": clean,
        "adversarial": adv,
        "ratio": adv / clean if clean else float("nan"),
        "fooling_rate": fooling_rate(clean_pred, adv_pred),
        "success": None if goal is None else victim.success(adv_pred, goal),
        "seconds_per_image": seconds / len(images),
        "images": len(images),
    }
    return row | perturbation_stats(adversarial, images)


def timed(attack: Attack, images: torch.Tensor, targets: torch.Tensor):
    started = time.perf_counter()
    adversarial = run_attack(attack, images, targets)
    return adversarial, time.perf_counter() - started


def _save_pngs(folder: Path, ids: Sequence[str], images: torch.Tensor) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pixels = (images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for image_id, array in zip(ids, pixels, strict=True):
        with atomic_path(folder / f"{image_id}.png") as tmp:
            Image.fromarray(array).save(tmp, format="PNG")


def example_figure(
    victim: Victim,
    ids: Sequence[str],
    images: torch.Tensor,
    adversarial: torch.Tensor,
    title: str,
    count: int = 4,
) -> bytes:
    """Original / amplified perturbation / adversarial image / predictions (labels with
    probabilities for the classifier, mask overlays for the segmenter) of the first images."""
    x, adv = images[:count], adversarial[:count]
    pictures = [(t * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy() for t in (x, adv)]
    deltas = (adv - x).permute(0, 2, 3, 1).numpy()
    rows, titles = [], ["image", "perturbation (amplified)", title]
    if victim.kind == "classifier":
        probs = [outputs(victim.model, t).sigmoid().numpy() for t in (x, adv)]
        labels = [victim.predict(t) for t in (x, adv)]
        for i in range(len(x)):
            texts = [
                ", ".join(f"{victim.classes[k]} {p[i, k]:.2f}" for k in np.flatnonzero(lab[i]))
                for p, lab in zip(probs, labels, strict=True)
            ]
            label = f"{ids[i]}\nclean: {texts[0]}\nattacked: {texts[1]}"
            rows.append((label, [pictures[0][i], figures.amplified(deltas[i]), pictures[1][i]]))
        return figures.image_grid(rows, titles)
    masks = [victim.predict(t) for t in (x, adv)]
    titles += ["prediction (clean)", "prediction (attacked)"]
    for i in range(len(x)):
        panels = [pictures[0][i], figures.amplified(deltas[i]), pictures[1][i]]
        panels += [figures.overlay(pictures[0][i], m[i].astype(np.uint8)) for m in masks]
        rows.append((ids[i], panels))
    return figures.image_grid(rows, titles, victim.classes)


def _write_png(path: Path, png: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(png)


def gradient_rows(
    victim: Victim,
    ids: list[str],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    steps: int,
    out_dir: Path,
    targeted_steps: int | None = None,
) -> tuple[list[dict], torch.Tensor]:
    """Noise, FGSM, PGD (`steps`) and targeted PGD (`targeted_steps`, default `steps`) at
    `eps`; returns the rows and the PGD images."""
    o = victim.options
    rows = []
    for name, attack, targets, goal in (
        (f"noise {eps * 255:.0f}/255", RandomNoise(victim.model, eps), truth, None),
        (f"FGSM {eps * 255:.0f}/255", FGSM(victim.model, eps, **o), truth, None),
        (f"PGD-{steps} {eps * 255:.0f}/255", PGD(victim.model, eps, steps=steps, **o), truth, None),
    ):
        adversarial, seconds = timed(attack, images, targets)
        rows.append(measure(victim, name, eps, images, adversarial, truth, seconds, goal))
    pgd_images = adversarial
    goal = absent_class_goal(truth) if victim.kind == "classifier" else background_goal(truth)
    what = "one absent class" if victim.kind == "classifier" else "all background"
    targeted_steps = targeted_steps or steps
    attack = PGD(victim.model, eps, steps=targeted_steps, targeted=True, **o)
    adversarial, seconds = timed(attack, images, goal)
    name = f"PGD-{targeted_steps} targeted ({what})"
    rows.append(measure(victim, name, eps, images, adversarial, truth, seconds, goal))
    _save_pngs(out_dir / f"{victim.kind}_pgd", ids, pgd_images)
    _write_png(
        out_dir / f"{victim.kind}_pgd.png",
        example_figure(victim, ids, images, pgd_images, f"PGD-{steps} adversarial"),
    )
    _write_png(
        out_dir / f"{victim.kind}_targeted.png",
        example_figure(victim, ids, images, adversarial, f"targeted: {what}"),
    )
    return rows, pgd_images


def robustness_curve(
    victim: Victim, images: torch.Tensor, truth: torch.Tensor, budgets: Sequence[int], steps: int
) -> list[dict]:
    """PGD rows over eps = b/255 for each b in `budgets`."""
    rows = []
    for b in budgets:
        attack = PGD(victim.model, b / 255, steps=steps, **victim.options)
        adversarial, seconds = timed(attack, images, truth)
        name = f"curve PGD-{steps} {b}/255"
        rows.append(measure(victim, name, b / 255, images, adversarial, truth, seconds))
    return rows


def universal_row(
    victim: Victim, train: ImageSet, images: torch.Tensor, truth: torch.Tensor, eps: float
) -> dict:
    """A universal perturbation learnt on `train` (against the model's own predictions, so
    no labels are needed) and applied to `images`."""
    train_images = victim.inputs(train)[0]
    own = torch.from_numpy(victim.predict(train_images))
    targets = own.float() if victim.kind == "classifier" else own.long()
    started = time.perf_counter()
    # One delta for every image (MSRC-v2 val fooling rates at 10/255, one run each): a margin
    # of 1 instead of 5 lets images whose labels already flipped stop steering delta sooner
    # (classifier, no flips: 0.74 vs 0.64; with flips 0.77); CosPGD's weights instead of
    # SegPGD's, whose schedule needs a step count that a universal perturbation does not
    # have (segmenter, no flips: 0.68 vs 0.60).
    # 20 epochs, not 10: with the flips the classifier's delta no longer memorises its
    # training set, and more epochs carried over (MSRC-v2 val fooling 0.83 vs 0.77 for the
    # classifier and for the segmenter).
    options = {"kappa": 1.0} if victim.kind == "classifier" else {"weighting": "cospgd"}
    attack = UniversalPerturbation(victim.model, eps, epochs=20, **(victim.options | options))
    attack.fit(train_images, targets)
    fit_seconds = time.perf_counter() - started
    adversarial, seconds = timed(attack, images, truth)
    name = f"universal {eps * 255:.0f}/255"
    row = measure(victim, name, eps, images, adversarial, truth, seconds)
    return row | {"fit_seconds": fit_seconds}


# The generator's training per model kind. The segmenter's trains on 160 px crops of its
# 256 px images in batches of 4: a step costs about a third of a whole-image one, so it takes
# more, shorter epochs. "All background" on unseen MSRC-v2 val pixels, 8/255, CosPGD weights
# and the full-resolution head: 73 % at width 16 for 40 such epochs, 76 % at width 32, 85 %
# at width 32 for 80 (61 % from whole images at width 16 for 20 epochs, without the head).
GENERATOR_SETTINGS: dict[str, dict] = {
    "classifier": {"epochs": 20},
    "segmenter": {
        "epochs": 80,
        "width": 32,
        "crop_size": 160,
        "batch_size": 4,
        "weighting": "cospgd",
    },
}


def generator_row(
    victim: Victim,
    train: ImageSet,
    ids: list[str],
    images: torch.Tensor,
    truth: torch.Tensor,
    eps: float,
    epochs: int | None,
    out_dir: Path,
    goal_class: str | None = None,
) -> dict:
    """A perturbation generator trained on `train` for one goal, scored on `images` it never
    saw. Classifier: add `goal_class` (by default the class in the fewest training images) to
    whatever the model sees, keeping its other labels; success = exactly that label set, on
    the images whose clean prediction lacks the class. Segmenter: every pixel background.
    Training follows `GENERATOR_SETTINGS` for the model's kind, with `epochs` if given."""
    train_images, train_truth = victim.inputs(train)
    if victim.kind == "classifier":
        k = victim.classes.index(goal_class) if goal_class else int(train_truth.sum(0).argmin())
        own, clean = (torch.from_numpy(victim.predict(x)).float() for x in (train_images, images))
        train_goal, goal = own.clone(), clean.clone()
        train_goal[:, k] = goal[:, k] = 1
        keep = clean[:, k] == 0
        what = f"add '{victim.classes[k]}'"
    else:
        train_goal, goal = background_goal(train_truth), background_goal(truth)
        keep = torch.ones(len(images), dtype=torch.bool)
        what = "all background"
    settings = GENERATOR_SETTINGS[victim.kind] | ({"epochs": epochs} if epochs is not None else {})
    started = time.perf_counter()
    attack = GeneratorAttack(victim.model, eps, targeted=True, **(victim.options | settings))
    attack.fit(train_images, train_goal)
    fit_seconds = time.perf_counter() - started
    adversarial, seconds = timed(attack, images[keep], truth[keep])
    row = measure(
        victim,
        f"generator {eps * 255:.0f}/255 ({what})",
        eps,
        images[keep],
        adversarial,
        truth[keep],
        seconds,
        goal[keep],
    )
    kept_ids = [i for i, k in zip(ids, keep.tolist(), strict=True) if k]
    _write_png(
        out_dir / f"{victim.kind}_generator.png",
        example_figure(victim, kept_ids, images[keep], adversarial, f"generator: {what}", 6),
    )
    return row | {"fit_seconds": fit_seconds, "train_loss": attack.history}


def defence_rows(
    victim: Victim,
    train: ImageSet,
    images: torch.Tensor,
    truth: torch.Tensor,
    pgd_images: torch.Tensor,
    eps: float,
    steps: int,
    finetune_epochs: int,
) -> list[dict]:
    """JPEG and blur in front of the model, each scored on the bare model's PGD images
    (non-adaptive) and under PGD through the defence (adaptive, BPDA for JPEG); then
    adversarial fine-tuning of a copy, scored under PGD on the fine-tuned model."""
    import copy

    rows = []
    for name, transform in (("JPEG q75", JPEG(75)), ("blur sigma 1", GaussianBlur(1.0))):
        model = defended(victim.model, transform)
        rows.append(
            measure(
                victim, f"{name}, non-adaptive PGD", eps, images, pgd_images, truth, model=model
            )
        )
        attack = PGD(model, eps, steps=steps, **victim.options)
        adversarial, seconds = timed(attack, images, truth)
        rows.append(
            measure(
                victim,
                f"{name}, adaptive PGD",
                eps,
                images,
                adversarial,
                truth,
                seconds,
                model=model,
            )
        )
    if finetune_epochs > 0:
        model = copy.deepcopy(victim.model)
        train_images, train_truth = victim.inputs(train)
        started = time.perf_counter()
        adversarial_finetune(
            model, train_images, train_truth, eps, finetune_epochs, threshold=victim.threshold
        )
        fit_seconds = time.perf_counter() - started
        attack = PGD(model, eps, steps=steps, **victim.options)
        adversarial, seconds = timed(attack, images, truth)
        row = measure(
            victim,
            f"adversarial fine-tuning ({finetune_epochs} ep), PGD",
            eps,
            images,
            adversarial,
            truth,
            seconds,
            model=model,
        )
        rows.append(row | {"fit_seconds": fit_seconds})
    return rows


def attack_run(
    run_dir: str | Path,
    data_dir: str | Path,
    split: str = "val",
    train_split: str = "train",
    eps: float = 4 / 255,
    steps: int = 10,
    targeted_steps: int = 20,
    max_images: int | None = None,
    budgets: Sequence[int] = (1, 2, 4, 8),
    universal_eps: float | None = None,
    generator_eps: float | None = None,
    generator_epochs: int | None = None,
    defences: bool = False,
    finetune_epochs: int = 2,
    models: Sequence[str] = ("classifier", "segmenter"),
) -> dict:
    """Run the attack suite on `run_dir`'s models over `data_dir`'s `split` (the first
    `max_images`), write `RUN/attacks/results.json` and figures, and return the results.
    Targeted PGD gets `targeted_steps`: steering every output to a chosen label set is a
    harder goal than moving it anywhere (MSRC-v2 probe classifier at 4/255: 92 % exact label
    sets after 10 steps, 100 % after 20)."""
    from .data import read_split

    run_dir = Path(run_dir)
    out_dir = run_dir / ATTACK_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    test = read_split(data_dir, split)
    if max_images is not None:
        test = test.subset(range(min(max_images, len(test))))
    needs_train = universal_eps or generator_eps or (defences and finetune_epochs)
    train = read_split(data_dir, train_split) if needs_train else None
    ids = [s.id for s in test.samples]
    victims = {k: v for k, v in load_victims(run_dir).items() if k in models}
    rows, curves, pgd = [], {}, {}
    for kind, victim in victims.items():
        log.info("attacking the %s on %d images", kind, len(test))
        images, truth = victim.inputs(test)
        new_rows, pgd[kind] = gradient_rows(
            victim, ids, images, truth, eps, steps, out_dir, targeted_steps
        )
        rows += new_rows
        curve = robustness_curve(victim, images, truth, budgets, steps)
        rows += curve
        curves[kind] = (list(budgets), [r["ratio"] for r in curve])
        if universal_eps:
            rows.append(universal_row(victim, train, images, truth, universal_eps))
        if generator_eps:
            rows.append(
                generator_row(
                    victim, train, ids, images, truth, generator_eps, generator_epochs, out_dir
                )
            )
        if defences:
            rows += defence_rows(
                victim, train, images, truth, pgd[kind], eps, steps, finetune_epochs
            )
    # Transfer: PGD images crafted on one model, scored by the other at the crafting size.
    for source, target in (("classifier", "segmenter"), ("segmenter", "classifier")):
        if source in pgd and target in victims:
            victim = victims[target]
            images, truth = victim.inputs(test, victims[source].size)
            rows.append(
                measure(
                    victim, f"transfer: PGD made on the {source}", eps, images, pgd[source], truth
                )
            )
    if curves:
        _write_png(out_dir / "robustness_curves.png", figures.robustness_curves(curves))
    results = {
        "run": str(run_dir),
        "data": str(data_dir),
        "split": split,
        "images": len(test),
        "eps": eps,
        "steps": steps,
        "targeted_steps": targeted_steps,
        "threat_model": (
            "white-box; L-inf budget in [0, 1] pixel space at the model's input size; "
            "normalisation inside the model; adversarial images clipped to [0, 1] and "
            "quantised to 8 bits before scoring"
        ),
        "rows": rows,
    }
    write_json(out_dir / RESULTS_FILE, results)
    return results


def summary(results: dict) -> list[str]:
    """Plain-language findings from `results` (for the report and the CLI)."""
    lines = []
    for kind in ("classifier", "segmenter"):
        rows = {r["attack"]: r for r in results["rows"] if r["model"] == kind}
        if not rows:
            continue
        first = next(iter(rows.values()))
        metric, clean = first["metric"], first["clean"]
        lines.append(f"The {kind}'s clean {metric} is {clean:.3f} on {first['images']} images.")
        noise = next((r for n, r in rows.items() if n.startswith("noise")), None)
        pgd = next((r for n, r in rows.items() if n.startswith("PGD") and "targeted" not in n))
        if noise:
            lines.append(
                f"{pgd['attack']} leaves {pgd['ratio']:.0%} of it (PSNR {pgd['psnr']:.1f} dB, "
                f"SSIM {pgd['ssim']:.3f}); random noise of the same budget leaves "
                f"{noise['ratio']:.0%}, so the damage comes from the gradient's direction, "
                "not the perturbation's size."
            )
        for name, r in rows.items():
            if r["success"] is not None:
                lines.append(f"{name}: targeted success {r['success']:.0%}.")
            elif name.startswith(("universal", "transfer")):
                fooled, ratio = r["fooling_rate"], r["ratio"]
                lines.append(f"{name}: fooling rate {fooled:.0%}, {metric} ratio {ratio:.0%}.")
            elif "PGD" in name and name.split(",")[0].startswith(("JPEG", "blur", "adversarial")):
                lines.append(f"{name}: {metric} {r['adversarial']:.3f} ({r['ratio']:.0%}).")
        if any(n.endswith(", non-adaptive PGD") for n in rows):
            lines.append(
                "Input transforms look strong only against attacks that ignore them; the "
                "adaptive rows (gradients through the blur, straight through JPEG) are the "
                "honest numbers."
            )
    return lines

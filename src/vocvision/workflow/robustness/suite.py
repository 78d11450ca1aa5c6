"""The attack suite on a run: which attacks, on which images, and what is kept.

For each model of the run it measures, on one labelled split: random noise, FGSM and PGD at
the budget; a targeted PGD (the task's goal: one absent class, or every pixel background);
the transfer of the other model's PGD images; a PGD curve over eps; optionally a universal
perturbation and a trained generator (learnt on the training part) and the defences. The
rows go to `RUN/attacks/results.json`, with example figures and the PGD images as 8-bit PNGs
(at the model's input size: they reproduce the numbers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from ... import figures
from ...attacks.measure import model_images
from ...config import ConfigError
from ...data import DataError, ImageSet
from ...errors import RunFolderError
from ...layout import MODEL_NAMES
from ...runfolder import AttackResults, AttackRow, RunFolder
from ..run_models import TrainedModel, TrainedModels
from .defended import defence_rows
from .gradient import curve_rows, gradient_rows
from .learned import generator_rows, universal_row
from .measured_attack import measure
from .outputs import AttackOutputs

log = logging.getLogger(__name__)

THREAT_MODEL = (
    "white-box; L-inf budget in [0, 1] pixel space at the model's input size; normalisation "
    "inside the model; adversarial images clipped to [0, 1] and quantised to 8 bits before "
    "scoring"
)


@dataclass
class AttackSettings:
    """The suite's settings. Budgets are in [0, 1] pixel units (4 / 255 = four 8-bit levels).
    Targeted PGD gets `targeted_steps`: steering every output to a chosen label set is a
    harder goal than moving it anywhere (MSRC-v2 probe classifier at 4/255: 92 % exact label
    sets after 10 steps, 100 % after 20)."""

    eps: float = 4 / 255
    steps: int = 10
    targeted_steps: int = 20
    max_images: int | None = 32
    budgets: tuple[float, ...] = (1, 2, 4, 8)  # the curve, in 1/255 steps
    universal_eps: float | None = None
    universal_epochs: int = 20
    universal_images: int | None = None  # learn on the first N training images (None: all)
    generator_eps: float | None = None
    generator_epochs: int | None = None
    generator_seconds: float | None = None  # each generator's training time limit
    goal: str | None = None  # the generator's goal class (None: each task's default)
    defences: bool = False
    finetune_epochs: int = 2
    models: tuple[str, ...] = MODEL_NAMES

    def __post_init__(self) -> None:
        problems = []
        for name, value in (("eps", self.eps), ("universal_eps", self.universal_eps),
                            ("generator_eps", self.generator_eps)):  # fmt: skip
            if value is not None and not 0 <= value <= 1:
                problems.append(f"{name} must be in 0..1 (0..255/255), got {value:g}")
        if any(not 0 < b <= 255 for b in self.budgets):
            problems.append(f"budgets must be in 1..255 (1/255 steps), got {self.budgets}")
        for name in ("steps", "targeted_steps", "universal_epochs", "max_images"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be >= 1, got {value}")
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown or not self.models:
            problems.append(f"models to attack must be among {MODEL_NAMES}, got {self.models}")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def learns(self) -> bool:
        """Whether some attack or defence learns from the training images."""
        return bool(
            self.universal_eps or self.generator_eps or (self.defences and self.finetune_epochs)
        )


def attack_run(
    folder: RunFolder,
    models: TrainedModels,
    images: ImageSet,
    split: str,
    settings: AttackSettings,
    train: ImageSet | None = None,
) -> AttackResults:
    """Run the suite on `models` over `images` (the first `max_images`; `split` names them)
    and, for the attacks that learn, `train`; write and return the results."""
    s = settings
    _check_attackable(models, images, split, s.models, s.goal)
    if s.max_images is not None:
        images = images.subset(range(min(s.max_images, len(images))))
    out = AttackOutputs(folder.layout.attacks_dir)
    rows, curves, pgd = [], {}, {}
    victims = [(name, v) for name, v in models.items() if name in s.models]
    for name, victim in victims:
        log.info("attacking the %s on %d images", name, len(images))
        new_rows, pgd[name] = _model_rows(victim, images, train, s, out)
        curve = [r for r in new_rows if r.curve]
        curves[name] = (list(s.budgets), [r.ratio for r in curve])
        rows += new_rows
    rows += _transfer_rows(models, victims, images, pgd, s.eps)
    if curves:
        out.save(
            "robustness_curves",
            figures.robustness_curves(curves),
            "PGD over the budget: each model's metric under attack relative to its clean "
            "metric; the steeper the fall, the less robust.",
        )
    results = AttackResults(
        split, len(images), s.eps, s.steps, s.targeted_steps, THREAT_MODEL, rows, out.captions
    )
    folder.write_attacks(results)
    return results


def check_goal(goal: str | None, classes: list[str]) -> None:
    """Raise ConfigError unless the attack goal `goal` names one of `classes` (or is
    'background', the segmenter's default)."""
    if goal and goal != "background" and goal not in classes:
        raise ConfigError(f"attack goal '{goal}' is not a class of the data: {classes}")


def _check_attackable(
    models: TrainedModels, images: ImageSet, split: str, names: tuple[str, ...], goal=None
) -> None:
    """Before any work: the run has one of the models asked for, and `images` the answers
    to score those it has against."""
    present = [name for name in names if name in models]
    if not present:
        raise RunFolderError(f"the run has no trained {' or '.join(names)} to attack")
    for name in present:
        check_goal(goal, models[name].task.classes)
    for name in present:
        dense = models[name].task.dense  # a segmenter is scored on masks, a classifier on labels
        unanswered = [s.id for s in images.samples if (s.mask if dense else s.labels) is None]
        if unanswered:
            more = f" (and {len(unanswered) - 1} more)" if len(unanswered) > 1 else ""
            raise DataError(
                f"split '{split}': image {unanswered[0]}{more} has no "
                f"{'mask' if dense else 'labels'} to attack the {name} against; attack a "
                "labelled split (e.g. --split val, the run's validation part)"
            )


def _model_rows(
    victim: TrainedModel,
    images: ImageSet,
    train: ImageSet | None,
    s: AttackSettings,
    out: AttackOutputs,
) -> tuple[list[AttackRow], torch.Tensor]:
    """Every row of one model (and its PGD images, for the transfer rows)."""
    size = victim.task.input_size
    x, truth = _inputs(victim, images, size)
    rows, pgd_images = gradient_rows(
        victim, images.ids, x, truth, s.eps, s.steps, s.targeted_steps, out
    )
    rows += curve_rows(victim, x, truth, s.budgets, s.steps)
    learnt = _inputs(victim, train, size) if s.learns and train is not None else None
    if s.universal_eps and learnt:
        learn_on = learnt[0][: s.universal_images]
        rows.append(universal_row(victim, learn_on, x, truth, s.universal_eps, s.universal_epochs))
    if s.generator_eps and learnt:
        rows.extend(
            generator_rows(
                victim,
                learnt,
                images.ids,
                x,
                truth,
                s.generator_eps,
                out,
                epochs=s.generator_epochs,
                max_seconds=s.generator_seconds,
                target=s.goal,
                pgd_steps=s.targeted_steps,
            )
        )
    if s.defences:
        rows += defence_rows(
            victim, learnt, x, truth, pgd_images, s.eps, s.steps, s.finetune_epochs
        )
    return rows, pgd_images


def _inputs(victim: TrainedModel, images: ImageSet, size: int):
    """The images at the model's `size` and their truth there."""
    return model_images(images, size), victim.task.targets(images, size)


def _transfer_rows(models, victims, images, pgd, eps) -> list[AttackRow]:
    """PGD images crafted on one model, scored by the other at the crafting size."""
    rows = []
    names = dict(victims)
    for source, target in (("classifier", "segmenter"), ("segmenter", "classifier")):
        if source in pgd and target in names:
            victim = names[target]
            size = models[source].task.input_size
            x, truth = _inputs(victim, images, size)
            rows.append(measure(victim, "transfer", eps, x, pgd[source], truth, source=source))
    return rows

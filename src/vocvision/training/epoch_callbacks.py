"""Callbacks on the epochs: training inside a time budget (after the first two epochs, fewer
epochs if the rest would not fit, the learning-rate schedule shortened to match, so it still
ends annealed), and seeding each epoch so that resuming repeats nothing but the epoch in
progress."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence

import lightning as L

from .loaders import EpochSchedule

log = logging.getLogger(__name__)


class EpochBudget(L.Callback):
    """Cap training at `seconds` of wall time by choosing the epoch count once the first
    epoch (training and validation) has been timed, and again after the second. Unlike
    Lightning's `max_time`, which stops mid-schedule, this keeps the warm-up + cosine
    schedule whole over the epochs that fit.

    The first epoch runs slow (start-up work): on two cores the MSRC-v2 segmenter's took up
    to 80 s where the later ones took 49-54 s, so a plan from it alone left up to a sixth of
    the epochs unused, and a loss 10 % slower per step lost 3 of 18 (docs/benchmarks.md).
    The second plan times the second epoch alone and may raise the count up to the fit's own
    `max_epochs`; it comes early in the schedule, about where the warm-up (a tenth of the
    steps) ends, so the schedule's shape barely moves.

    `since` (a `time.perf_counter()` value) starts the clock before the fit, so that the
    work done in between (an earlier fit, a pass over images) spends the budget too."""

    PLANS = 2

    def __init__(self, seconds: float, since: float | None = None) -> None:
        self.seconds = seconds
        self.since = since
        self.started: float | None = None
        self.planned: int | None = None
        self.plans = 0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started = self.epoch_started = time.perf_counter()
        self.spent_before = 0.0 if self.since is None else self.started - self.since
        self.max_epochs = trainer.max_epochs
        self.validation_started: float | None = None

    def on_validation_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.validation_started = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.plans >= self.PLANS or trainer.sanity_checking or self.started is None:
            return
        now = time.perf_counter()
        per_epoch = now - self.epoch_started  # this epoch's training and validation
        # validation costs the same in every epoch; training follows the epoch's crops
        validation = now - (self.validation_started or now)
        self.epoch_started = now
        self.plans += 1
        left = self.seconds - self.spent_before - (now - self.started)
        costs = getattr(trainer.datamodule, "schedule", None)
        fits = _epochs_that_fit(
            trainer.current_epoch, per_epoch - validation, validation, left, self.max_epochs,
            costs,
        )  # fmt: skip
        # Under DDP every process must train the same epochs: the main process decides.
        self.planned = trainer.strategy.broadcast(fits, src=0)
        if self.planned == trainer.max_epochs:  # the fit's count as it stands (or last plan)
            return
        log.info("time budget %.0f s left: %d of %d epochs fit (%.0f s each)", left,
                 self.planned, self.max_epochs, per_epoch)  # fmt: skip
        steps_per_epoch = trainer.estimated_stepping_batches / trainer.max_epochs
        trainer.fit_loop.max_epochs = self.planned
        if costs is not None:
            costs.epochs = self.planned
        schedule = getattr(module, "schedule", None)
        if schedule is not None:
            schedule["total_steps"] = max(1, int(steps_per_epoch * self.planned))


def _epochs_that_fit(
    done: int,
    training: float,
    validation: float,
    left: float,
    most: int,
    costs: EpochSchedule | None,
) -> int:
    """The most epochs (up to `most`) whose rest fits `left` seconds, epoch `done` having
    trained in `training` and validated in `validation` seconds; each epoch's training
    weighed by its cost in `costs` (smaller crops and a frozen encoder cost less), whose
    switch to full-size crops moves with the count (without `costs`, every epoch alike)."""
    planned = copy.copy(costs) if costs is not None else EpochSchedule(size=1)
    for count in range(most, done + 1, -1):
        planned.epochs = count
        unit = training / planned.cost(done)
        rest = range(done + 1, count)
        if sum(planned.cost(e) * unit + validation for e in rest) <= left:
            return count
    return done + 1


def fresh_budgets(
    callbacks: Sequence[L.Callback], share: float = 1.0, since: float | None = None
) -> list[L.Callback]:
    """`callbacks` with each `EpochBudget` replaced by an unplanned one of `share` of its
    seconds, its clock started at `since`: a budget plans one fit, so a fit that shares it
    with another needs its own."""
    return [
        EpochBudget(c.seconds * share, since) if isinstance(c, EpochBudget) else c
        for c in callbacks
    ]


class EpochSeed(L.Callback):
    """Seed every epoch from (`seed`, epoch number), so its shuffling, augmentation and
    dropout do not depend on what ran before it: a run resumed from the end of an epoch
    trains the next epochs exactly as an uninterrupted one would (Lightning's checkpoints do
    not carry the random generators' states)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        L.seed_everything(self.seed + 1000 * trainer.current_epoch, workers=True, verbose=False)

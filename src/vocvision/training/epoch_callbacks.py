"""Callbacks on the epochs: training inside a time budget (after the first epoch, fewer
epochs if the rest would not fit, the learning-rate schedule shortened to match, so it still
ends annealed), and seeding each epoch so that resuming repeats nothing but the epoch in
progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import lightning as L

log = logging.getLogger(__name__)


class EpochBudget(L.Callback):
    """Cap training at `seconds` of wall time by choosing the epoch count once the first
    epoch (training and validation) has been timed. Unlike Lightning's `max_time`, which
    stops mid-schedule, this keeps the warm-up + cosine schedule whole over the epochs that
    fit.

    `since` (a `time.perf_counter()` value) starts the clock before the fit, so that the
    work done in between (an earlier fit, a pass over images) spends the budget too."""

    def __init__(self, seconds: float, since: float | None = None) -> None:
        self.seconds = seconds
        self.since = since
        self.started: float | None = None
        self.planned: int | None = None

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started = time.perf_counter()
        self.spent_before = 0.0 if self.since is None else self.started - self.since
        self.first_epoch = trainer.current_epoch

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.planned is not None or trainer.sanity_checking or self.started is None:
            return
        per_epoch = (time.perf_counter() - self.started) / (
            trainer.current_epoch + 1 - self.first_epoch
        )
        left = self.seconds - self.spent_before
        fits = max(trainer.current_epoch + 1, int(left / per_epoch) + self.first_epoch)
        # Under DDP every process must train the same epochs: the main process decides.
        self.planned = trainer.strategy.broadcast(min(trainer.max_epochs, fits), src=0)
        if self.planned < trainer.max_epochs:
            log.info(
                "time budget %.0f s left: %d of %d epochs fit (%.0f s each)",
                left,
                self.planned,
                trainer.max_epochs,
                per_epoch,
            )
            steps_per_epoch = trainer.estimated_stepping_batches / trainer.max_epochs
            trainer.fit_loop.max_epochs = self.planned
            schedule = getattr(module, "schedule", None)
            if schedule is not None:
                schedule["total_steps"] = max(1, int(steps_per_epoch * self.planned))


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

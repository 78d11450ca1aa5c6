"""The time budget of `vocvision run`: each stage's share, and what the progress display is
told."""

from __future__ import annotations

import time
from typing import Protocol

import lightning as L

from ..runfolder import JobStage

# Share of the budget per stage, of the time still left when the stage starts (so time a
# stage does not use goes to the later ones). The segmenter's share sets how many of its
# epochs run (MSRC-v2 on 2 cores: 20 of 30 in a 20-minute job, about 26 s each).
STAGE_SHARES = {
    "classify": 0.04,
    "segment": 0.42,
    "baselines": 0.20,
    "predict": 0.06,
    "attack": 0.20,
    "report": 0.08,
}
PARTS = ("classify", "segment", "baselines", "attack")  # what --only chooses from
MIN_SECONDS = {"baselines": 20.0, "attack": 20.0}  # below this a stage is skipped
DEFAULT_BUDGET_S = 45 * 60


class Reporter(Protocol):
    """What a progress display is told (`vocvision run` shows it with rich)."""

    def start(self, stage: str, allotted_s: float, budget_left_s: float) -> None: ...

    def update(self, text: str) -> None: ...

    def finish(self, stage: JobStage) -> None: ...


class SilentReporter:
    """A reporter that shows nothing (the Python API's default)."""

    def start(self, stage: str, allotted_s: float, budget_left_s: float) -> None:
        pass

    def update(self, text: str) -> None:
        pass

    def finish(self, stage: JobStage) -> None:
        pass


class Budget:
    """The clock of one job: `allot` gives a starting stage its share of the time left."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.started = seconds, time.perf_counter()

    def left(self) -> float:
        return max(0.0, self.seconds - (time.perf_counter() - self.started))

    def allot(self, stage: str, pending: list[str]) -> float:
        """`stage`'s share of the time left, among the `pending` stages (itself included)."""
        weights = sum(STAGE_SHARES[name] for name in pending)
        return self.left() * STAGE_SHARES[stage] / weights


class EpochProgress(L.Callback):
    """Tells the reporter each finished epoch of a model's training."""

    def __init__(self, reporter: Reporter, what: str) -> None:
        self.reporter, self.what = reporter, what

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        monitor = trainer.callback_metrics.get(module.task.monitor)
        score = "" if monitor is None else f", {module.task.monitor} {float(monitor):.3f}"
        self.reporter.update(
            f"{self.what}: epoch {trainer.current_epoch + 1}/{trainer.max_epochs}{score}"
        )

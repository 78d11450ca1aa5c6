"""A task: what one of a run's two models is for, and everything that depends on it.

Training, inference, the attacks and the evaluation ask the task instead of branching on a
model kind: its model factory, its targets, its loss and validation metric, how its outputs
become predictions and scores, and what an attack on it optimises and aims for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

from ..attacks import Objective
from ..config import TaskConfig
from ..data.sample import ImageSet


@dataclass(frozen=True)
class AttackGoal:
    """A targeted attack's targets (what the attacker wants the model to output) and a short
    description of them for tables and figures."""

    targets: torch.Tensor
    description: str


class Task(ABC):
    """Base class of `ClassificationTask` and `SegmentationTask`.

    Args:
        classes: the class names (background excluded), in the data's order.
        config: the task's settled section of the run configuration.
        has_background: whether the data has a background class.
    """

    name: ClassVar[str]  # the model's folder in a run, and its name in tables
    metric: ClassVar[str]  # the headline score the attacks and the report quote
    monitor: ClassVar[str]  # the validation metric the best checkpoint is chosen by
    target_key: ClassVar[str]  # the batch entry the loss compares the outputs with
    dense: ClassVar[bool]  # whether predictions are per-pixel masks (else label vectors)

    def __init__(
        self, classes: Sequence[str], config: TaskConfig, has_background: bool = True
    ) -> None:
        self.classes, self.config, self.has_background = list(classes), config, has_background

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_size(self) -> int:
        """The square training input size; attacks work at this size."""
        return self.config.image_size

    @property
    def trains_with_lightning(self) -> bool:
        """False for models fitted in closed form (the frozen probe)."""
        return True

    @abstractmethod
    def build_model(self, pretrained: str | None = None) -> nn.Module:
        """A new model for this task (ImageNet weights from `pretrained`, default the
        config's source)."""

    @abstractmethod
    def training_loss(self, train: ImageSet | None = None) -> nn.Module:
        """The training loss, weighted from the training images where the config asks."""

    @abstractmethod
    def plain_loss(self) -> nn.Module:
        """The unweighted loss (BCE for labels, per-pixel CE for masks) that adversarial
        fine-tuning trains with."""

    @abstractmethod
    def validation_metric(self) -> Metric:
        """A fresh metric that `metric_inputs(logits)` and the batch targets update."""

    @abstractmethod
    def metric_inputs(self, logits: torch.Tensor) -> torch.Tensor:
        """What the validation metric takes from the logits (probabilities or masks)."""

    @abstractmethod
    def validation_logs(self, scores: dict) -> dict[str, float]:
        """The values logged per validation epoch, `monitor` among them."""

    @abstractmethod
    def predict(
        self,
        model: nn.Module,
        pixels: Sequence[np.ndarray],
        tta: bool = True,
        fast: bool = True,
        compile_model: bool = False,
    ):
        """Whole-image predictions of H x W x 3 uint8 images with the config's test-time
        augmentation (one view without `tta`)."""

    @abstractmethod
    def targets(self, images: ImageSet, size: int) -> torch.Tensor:
        """The truth of `images` at the model's `size` x `size` input."""

    @abstractmethod
    def decide(self, logits: torch.Tensor) -> np.ndarray:
        """Predictions (labels or masks) from a batch of logits at the model's input size."""

    @abstractmethod
    def score(self, predicted: np.ndarray, truth: torch.Tensor) -> float:
        """The task's `metric` of `decide`'s predictions against the truth."""

    @abstractmethod
    def fooling_rate(self, clean: np.ndarray, adversarial: np.ndarray) -> float:
        """The share of images whose prediction an attack changed."""

    @abstractmethod
    def objective(self, **options) -> Objective:
        """What an attack on this model optimises (options: the objective's arguments)."""

    @abstractmethod
    def goal(self, truth: torch.Tensor, seed: int = 0) -> AttackGoal:
        """The targeted attack's goal for images with this truth."""

    @abstractmethod
    def success(self, predicted: np.ndarray, goal: torch.Tensor) -> float:
        """How much of a targeted goal the predictions reach (0..1)."""

    @abstractmethod
    def as_targets(self, predicted: np.ndarray) -> torch.Tensor:
        """`decide`'s predictions as attack targets (the model's own outputs stand in for
        labels where an attack learns without them)."""

    @abstractmethod
    def universal_objective(self) -> Objective:
        """What a universal perturbation optimises (one delta for many images)."""

    @abstractmethod
    def generator_goal(
        self,
        train_truth: torch.Tensor,
        own_train: torch.Tensor,
        truth: torch.Tensor,
        own: torch.Tensor,
        target: str | None = None,
    ) -> tuple[torch.Tensor, AttackGoal, torch.Tensor]:
        """A trained generator's goal: (its training targets, the goal on the attacked
        images, which of those count), from the truth of the training and the attacked
        images and the model's own predictions on them (`as_targets` form), towards the
        class named `target` (None: the task's default)."""

    @abstractmethod
    def generator_objective(self) -> Objective:
        """What a perturbation generator optimises."""

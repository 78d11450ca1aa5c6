"""Multi-label image classification: which of the K classes each image contains."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..attacks import MultiLabelMargin
from ..config import ClassifierConfig
from ..data.sample import ImageSet
from ..inference import LabellingRule, predict_probabilities
from ..metrics import LabelScores, dice_per_image
from ..models import Classifier, ProbeClassifier
from .losses import classification_loss, positive_weights
from .task import AttackGoal, Task


class ClassificationTask(Task):
    """The classifier: a frozen-backbone probe or a fine-tuned network (`config.method`).

    Its predictions are the labels of `rule` (default: threshold 0.5); attacks move label
    sets (`MultiLabelMargin` at the rule's threshold) and, targeted, replace each image's
    labels by one class it does not have.

    Example::

        task = ClassificationTask(["cat", "dog"], ClassifierConfig())
        model = task.build_model()
        probabilities = task.predict(model, [image])       # 1 x 2
    """

    name, metric, monitor, target_key = "classifier", "dice", "val/mAP", "labels"
    dense = False

    def __init__(
        self,
        classes: Sequence[str],
        config: ClassifierConfig,
        has_background: bool = True,
        rule: LabellingRule | None = None,
    ) -> None:
        super().__init__(classes, config, has_background)
        threshold = 0.5 if config.threshold is None else config.threshold
        self.rule = rule or LabellingRule(threshold, at_least_one=config.at_least_one)

    @property
    def trains_with_lightning(self) -> bool:
        return self.config.method == "finetune"

    def build_model(self, pretrained: str | None = None) -> nn.Module:
        c, source = self.config, pretrained or self.config.pretrained
        if c.method == "probe":
            return ProbeClassifier(self.num_classes, c.backbone, source, num_heads=c.folds)
        return Classifier(self.num_classes, c.backbone, source)

    def training_loss(self, train: ImageSet | None = None) -> nn.Module:
        weights = None
        if train is not None:
            weights = positive_weights(torch.from_numpy(train.label_matrix()))
        return classification_loss(self.config.loss, weights)

    def plain_loss(self) -> nn.Module:
        return nn.BCEWithLogitsLoss()

    def validation_metric(self) -> LabelScores:
        return LabelScores(0.5 if self.config.threshold is None else self.config.threshold)

    def metric_inputs(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.sigmoid()

    def validation_logs(self, scores: dict) -> dict[str, float]:
        return {"val/mAP": scores["mAP"], "val/dice": scores["dice"]}

    def predict(self, model, pixels, tta=True, fast=True, compile_model=False) -> np.ndarray:
        """N x K probabilities (mean over the flip and scales of the config's TTA)."""
        c = self.config
        views = {"flip": c.tta_flip, "scales": tuple(c.tta_scales)} if tta else {}
        return predict_probabilities(
            model, pixels, c.image_size, fast=fast, compile_model=compile_model, **views
        )

    def targets(self, images: ImageSet, size: int) -> torch.Tensor:
        return torch.from_numpy(images.label_matrix()).float()

    def decide(self, logits: torch.Tensor) -> np.ndarray:
        return self.rule.labels(logits.float().sigmoid().numpy())

    def score(self, predicted: np.ndarray, truth: torch.Tensor) -> float:
        return float(dice_per_image(predicted, truth.numpy()).mean())

    def fooling_rate(self, clean: np.ndarray, adversarial: np.ndarray) -> float:
        return float((clean != adversarial).any(1).mean())

    def objective(self, **options) -> MultiLabelMargin:
        return MultiLabelMargin(**({"threshold": self.rule.threshold} | options))

    def goal(self, truth: torch.Tensor, seed: int = 0) -> AttackGoal:
        """Each image's label set replaced by one random class it does not have."""
        generator = torch.Generator().manual_seed(seed)
        scores = torch.rand(truth.shape, generator=generator) - 2 * truth
        targets = torch.nn.functional.one_hot(scores.argmax(1), truth.shape[1]).float()
        return AttackGoal(targets, "one absent class")

    def success(self, predicted: np.ndarray, goal: torch.Tensor) -> float:
        """Images whose label set is exactly the goal's."""
        return float((predicted.astype(bool) == goal.numpy().astype(bool)).all(1).mean())

    def as_targets(self, predicted: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(predicted).float()

    def universal_objective(self) -> MultiLabelMargin:
        # A margin of 1 instead of 5 lets images whose labels already flipped stop steering
        # the one delta sooner (MSRC-v2 val fooling rate at 10/255: 0.74 vs 0.64).
        return self.objective(kappa=1.0)

    def generator_goal(self, train_truth, own_train, truth, own, target=None):
        """Add the class `target` (default: the one in the fewest training images, the
        hardest to fake) to whatever the model sees, keeping its other labels; only images
        whose prediction lacks the class count."""
        k = self.classes.index(target) if target else int(train_truth.sum(0).argmin())
        train_goal, goal = own_train.clone(), own.clone()
        train_goal[:, k] = goal[:, k] = 1
        keep = own[:, k] == 0
        return train_goal, AttackGoal(goal, f"add '{self.classes[k]}'"), keep

    def generator_objective(self) -> MultiLabelMargin:
        return self.objective()

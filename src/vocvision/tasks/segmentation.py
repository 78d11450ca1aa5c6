"""Semantic segmentation: a class (or background) for every pixel."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..attacks import PixelCrossEntropy
from ..attacks.measure import model_masks
from ..data.sample import IGNORE_INDEX, ImageSet, is_binary
from ..inference import predict_masks
from ..metrics import SegmentationScores, segmentation_metrics
from ..models import Segmenter
from .losses import SegmentationLoss, pixel_class_weights
from .task import AttackGoal, Task


class SegmentationTask(Task):
    """The segmenter: an smp decoder over a timm encoder, K + 1 output channels.

    Predictions are whole-resolution label masks (0 = background, 1..K), made with the
    config's inference size, tiles, test-time augmentation and dense CRF. Attacks use
    per-pixel cross-entropy with SegPGD weights; targeted, every pixel becomes background.

    Example::

        task = SegmentationTask(["cat", "dog"], SegmenterConfig(arch="fpn"))
        masks = task.predict(task.build_model(), [image])     # [H x W uint8]
    """

    name, metric, monitor, target_key = "segmenter", "mIoU", "val/mIoU", "mask"
    dense = True

    @property
    def binary(self) -> bool:
        return is_binary(self.num_classes, self.has_background)

    def build_model(self, pretrained: str | None = None) -> nn.Module:
        c = self.config
        if c.arch == "auto":
            raise ValueError("segmenter.arch is still 'auto': settle it with for_labels first")
        return Segmenter(
            self.num_classes,
            c.backbone,
            pretrained or c.pretrained,
            c.arch,
            self.has_background,
            c.decoder_width,
        )

    def training_loss(self, train: ImageSet | None = None) -> nn.Module:
        c = self.config
        if c.loss is None:
            raise ValueError("segmenter.loss is still None: settle it with for_labels first")
        weights = None
        if c.class_weighting == "inverse_sqrt" and train is not None:
            masks = [s.mask for s in train.samples if s.mask is not None]
            weights = pixel_class_weights(masks, self.num_classes + 1)
        return SegmentationLoss(c.loss, tuple(c.loss_weights), weights, self.binary)

    def plain_loss(self) -> nn.Module:
        return nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)

    def validation_metric(self) -> SegmentationScores:
        return SegmentationScores(self.num_classes, self.has_background)

    def metric_inputs(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(1)

    def validation_logs(self, scores: dict) -> dict[str, float]:
        return {"val/mIoU": scores["mIoU"], "val/dice": scores["kaggle_dice"]}

    def inference_options(self, tta: bool = True, crf: bool | None = None) -> dict:
        """`predict_masks`'s size, square, tile, flip, scales and crf from the config (one
        view without `tta`; the CRF stays unless `crf` says otherwise)."""
        c = self.config
        options = {
            "size": c.image_size if c.inference_side is None else c.inference_side,
            "square": c.inference_square,
            "tile": c.tile_size,
            "crf": bool(c.crf) if crf is None else crf,
        }
        if tta:
            options |= {"flip": c.tta_flip, "scales": tuple(c.tta_scales)}
        return options

    def predict(
        self, model, pixels, tta=True, fast=True, compile_model=False, allowed=None, crf=None
    ) -> list[np.ndarray]:
        """One H x W uint8 label mask per image, at its own resolution; `allowed` (N x K
        booleans) restricts each image to background and those classes; `crf` overrides the
        config's dense CRF."""
        options = self.inference_options(tta, crf)
        return predict_masks(
            model, pixels, fast=fast, allowed=allowed, compile_model=compile_model, **options
        )

    def targets(self, images: ImageSet, size: int) -> torch.Tensor:
        return model_masks(images, size)

    def decide(self, logits: torch.Tensor) -> np.ndarray:
        return logits.argmax(1).numpy()

    def score(self, predicted: np.ndarray, truth: torch.Tensor) -> float:
        truth = truth.numpy()
        return segmentation_metrics(
            list(predicted), list(truth), self.num_classes, self.has_background
        )["mIoU"]

    def fooling_rate(self, clean: np.ndarray, adversarial: np.ndarray) -> float:
        """Images whose majority of pixels changed class."""
        changed = (clean != adversarial).reshape(len(clean), -1)
        return float((changed.mean(1) > 0.5).mean())

    def objective(self, **options) -> PixelCrossEntropy:
        return PixelCrossEntropy(**({"weighting": "segpgd"} | options))

    def goal(self, truth: torch.Tensor, seed: int = 0) -> AttackGoal:
        """Every labelled pixel becomes background."""
        targets = torch.where(truth == IGNORE_INDEX, truth, torch.zeros_like(truth))
        return AttackGoal(targets, "all background")

    def success(self, predicted: np.ndarray, goal: torch.Tensor) -> float:
        """The share of the goal's valid pixels that take the attacker's class."""
        goal = goal.numpy()
        valid = goal != IGNORE_INDEX
        return float((predicted == goal)[valid].mean())

    def as_targets(self, predicted: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(predicted).long()

    def universal_objective(self) -> PixelCrossEntropy:
        # CosPGD's weights: SegPGD's schedule needs a step count that a universal
        # perturbation does not have (MSRC-v2 val fooling rate at 10/255: 0.68 vs 0.60).
        return self.objective(weighting="cospgd")

    def generator_goal(self, train_truth, own_train, truth, own, target=None):
        """Every labelled pixel of every image becomes the class `target` (default:
        background, the goal that makes objects vanish)."""
        keep = torch.ones(len(truth), dtype=torch.bool)
        if not target or target == "background":
            return self.goal(train_truth).targets, self.goal(truth), keep
        k = self.classes.index(target) + 1  # 0 is background

        def painted(t: torch.Tensor) -> torch.Tensor:
            return torch.where(t == IGNORE_INDEX, t, torch.full_like(t, k))

        return painted(train_truth), AttackGoal(painted(truth), f"all '{target}'"), keep

    def generator_objective(self) -> PixelCrossEntropy:
        return self.objective(weighting="cospgd")

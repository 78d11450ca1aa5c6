"""Run configuration as data: dataclasses saved as JSON beside the checkpoints."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A run setting outside its allowed values."""


CLASSIFIER_METHODS = ("probe", "finetune")
CLASSIFICATION_LOSSES = ("bce", "weighted_bce", "asl")
SEGMENTER_ARCHITECTURES = ("fpn", "unet", "deeplabv3plus")


@dataclass
class TaskConfig:
    """Training settings shared by the classifier and the segmenter."""

    backbone: str = "tf_efficientnet_lite0"
    pretrained: str = "package"  # package | hub | none | path to a weights file
    image_size: int = 224
    epochs: int = 20
    batch_size: int = 16
    lr: float = 2e-3  # head/decoder; the pretrained backbone gets lr * backbone_lr_scale
    backbone_lr_scale: float = 0.3
    weight_decay: float = 1e-4
    patience: int = 10  # early stopping, in validation epochs
    min_crop_scale: float = 0.35  # smallest random crop, as a fraction of the image area
    augment: str = "basic"  # basic (crop, flip, colour jitter) | randaugment (classifier only)


@dataclass
class ClassifierConfig(TaskConfig):
    # probe: frozen backbone, cached features, K-fold linear heads (seconds on a CPU);
    # finetune: the whole network trained end to end with Lightning (minutes).
    method: str = "probe"
    image_size: int = 320
    epochs: int = 15  # finetune: validation mAP on MSRC-v2 plateaus after ~14 epochs
    # bce | weighted_bce | asl. Weighted BCE: MSRC-v2 5-fold probe Dice 0.883 vs 0.878 (BCE)
    # vs 0.770 (ASL, whose skewed probabilities need per-class thresholds: 0.855).
    loss: str = "weighted_bce"
    freeze_epochs: int = 0  # finetune: epochs that train the head alone before fine-tuning
    folds: int = 5  # probe: multilabel-stratified folds, one head each, ensembled
    probe_views: int = 4  # probe: whole image, mirror, and random crops per training image
    probe_l2: float = 3e-4  # probe: L2 penalty on the head weights
    # Probability above which a class is predicted; None = chosen after training on held-out
    # predictions (the validation split), for the best per-image Dice.
    threshold: float | None = None
    # One threshold per class instead of one for all: off, it overfits a few hundred images
    # (MSRC-v2 5-fold, cross-fitted: Dice 0.887 vs 0.895 with one global threshold).
    per_class_thresholds: bool = False
    # An image with no class above threshold gets its best class: VOC-like images always
    # show something (MSRC-v2 5-fold: +0.002 without TTA, +0.000 with).
    at_least_one: bool = True
    # Test-time augmentation: average with the mirrored image (MSRC-v2 5-fold probe Dice
    # 0.895 vs 0.883) and over `tta_scales` x image_size.
    tta_flip: bool = True
    tta_scales: tuple[float, ...] = (1.0,)


@dataclass
class SegmenterConfig(TaskConfig):
    # FPN by default: under a CPU budget it learned far faster than smp's U-Net (MSRC-v2 val,
    # 6 epochs at 256 px: Kaggle segmentation Dice 0.83 vs 0.61).
    arch: str = "fpn"  # fpn | unet | deeplabv3plus
    image_size: int = 256
    epochs: int = 12
    # Average the logits with those of the mirrored image. Off by default: no gain on MSRC-v2
    # (Kaggle Dice 0.854 with vs 0.859 without, both models flipped).
    tta_flip: bool = False


@dataclass
class RunConfig:
    """Everything a run needs besides the data; `vocvision train` saves it as run_config.json."""

    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    val_fraction: float = 0.15
    seed: int = 0
    accelerator: str = "auto"  # cpu | gpu | auto
    devices: str = "auto"  # number of devices or "auto"; several GPUs train with DDP
    num_nodes: int = 1
    precision: str = "32-true"  # e.g. bf16-mixed / 16-mixed on GPUs
    num_workers: int = 0  # data loading processes; 0 is fastest on a 2-core CPU
    max_train_images: int | None = None  # cap for smoke runs
    # Let the validation split decide whether image labels fuse the classifier's probabilities
    # with the segmenter's predicted class areas (it did on MSRC-v2: val Dice 0.899 vs 0.883).
    label_fusion: bool = True
    # Restrict each predicted mask to the classes the classifier predicts present. Off by
    # default: it helped a weak segmenter (+0.05 Dice) but not a good one (-0.01) on MSRC-v2.
    gate_segmentation: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first setting outside its choices; return self."""
        choices = {
            "classifier.method": (self.classifier.method, CLASSIFIER_METHODS),
            "classifier.loss": (self.classifier.loss, CLASSIFICATION_LOSSES),
            "segmenter.arch": (self.segmenter.arch, SEGMENTER_ARCHITECTURES),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got '{value}'")
        if self.classifier.method == "probe" and self.classifier.folds < 2:
            raise ConfigError(f"classifier.folds must be at least 2, got {self.classifier.folds}")
        return self

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        data = dict(data)
        return cls(
            classifier=ClassifierConfig(**data.pop("classifier", {})),
            segmenter=SegmenterConfig(**data.pop("segmenter", {})),
            **data,
        )

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

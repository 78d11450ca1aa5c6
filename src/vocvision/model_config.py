"""The settings of each model of a run: `ClassifierConfig` and `SegmenterConfig`, over the
`TaskConfig` settings they share. Each setting is declared once (`config_fields.setting`): its
default, help, allowed values and legacy value; `vocvision.config.RunConfig` holds both.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config_fields import ConfigError, check_decoder_width, check_scales, setting

CLASSIFIER_METHODS = ("probe", "finetune")
CLASSIFICATION_LOSSES = ("bce", "weighted_bce", "asl")
SEGMENTER_ARCHITECTURES = ("auto", "fpn", "unet", "deeplabv3plus")
SEGMENTATION_LOSS_TERMS = ("ce", "ohem", "focal", "dice")
CLASS_WEIGHTINGS = ("none", "inverse_sqrt")
SCHEDULERS = ("warmup_cosine", "onecycle", "sgdr", "plateau")
AUGMENTATIONS = ("basic", "strong", "randaugment")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


def frozen_epoch_limit(freeze_epochs: int, epochs: int) -> int:
    """The epochs that may train with the encoder frozen, of `epochs` in all: `freeze_epochs`,
    at most a quarter of them (the encoder must still learn)."""
    return min(freeze_epochs, epochs // 4)


def default_segmentation_loss(crf: bool) -> str:
    """`segmenter.loss` when unset: ohem+dice where the CRF is off, ce+dice where it is on
    (see the setting's help)."""
    return "ce+dice" if crf else "ohem+dice"


@dataclass
class TaskConfig:
    """Training settings shared by the classifier and the segmenter."""

    backbone: str = setting(
        "tf_efficientnet_lite0", "timm backbone, e.g. tf_efficientnet_lite0/1/2."
    )
    pretrained: str = setting("package", "package (offline wheels) | hub | none | PATH.")
    image_size: int = setting(224, "Training input size, pixels squared.", low=32)
    epochs: int = setting(20, "Training epochs.", low=1)
    batch_size: int = setting(16, "Images per batch.", low=1)
    lr: float = setting(
        2e-3,
        "Head/decoder learning rate (the backbone gets lr * backbone_lr_scale).",
        low=0,
        open_range=True,
    )
    backbone_lr_scale: float = setting(0.3, "Pretrained backbone's share of lr.", low=0)
    weight_decay: float = setting(1e-4, "AdamW weight decay.", low=0)
    patience: int = setting(10, "Early stopping, in validation epochs.", low=1)
    min_crop_scale: float = setting(
        0.35,
        "Smallest random crop, as a fraction of the image area.",
        low=0,
        high=1,
        open_range=True,
    )
    max_crop_scale: float = setting(
        1.0,
        "Largest random crop (below 1: train on parts, e.g. at full resolution).",
        low=0,
        high=1,
    )
    augment: str = setting(
        "basic",
        "basic: crop, flip, colour jitter; strong (segmenter): + rotation/shear, gamma, noise; "
        "randaugment (classifier): + two RandAugment operations.",
        choices=AUGMENTATIONS,
    )
    scheduler: str = setting(
        "warmup_cosine",
        "warmup_cosine (per step) | onecycle | sgdr (warm restarts every restart_epochs) | "
        "plateau (halve the rate when the monitored metric stalls).",
        choices=SCHEDULERS,
    )
    restart_epochs: int = setting(4, "sgdr: epochs between restarts.", low=1)
    max_minutes: float | None = setting(
        None,
        "Stop training after this wall time (best checkpoint kept).",
        low=0,
        open_range=True,
    )
    progressive_scale: float = setting(
        1.0,
        "Progressive resizing: crops of this fraction of image_size's side (a multiple of "
        "32) for the first progressive_share of the epochs, then image_size (1: off).",
        low=0,
        high=1,
        legacy={5: 1.0},
    )
    progressive_share: float = setting(
        0.7,
        "The share of the epochs on progressive_scale's smaller crops (MSRC-v2, 5 minutes a "
        "fold, cross-validated: 0.7 vs 0.5, +0.018 mIoU).",
        low=0,
        high=1,
    )
    freeze_epochs: int = setting(
        0, "Epochs that train the head alone, the pretrained encoder frozen, first.", low=0
    )
    ema_decay: float = setting(
        0.0,
        "Exponential moving average of the weights, updated every step with this decay, "
        "validated and saved instead of the raw weights (0: off; 0.98 lost on both "
        "cross-validated dev sets, docs/benchmarks.md).",
        low=0,
        high=0.9999,
        legacy={2: 0.0},
    )

    @property
    def frozen_epochs(self) -> int:
        """The epochs that train with the encoder frozen: `freeze_epochs`, at most a quarter
        of the epochs (the encoder must still learn), none when it is not pretrained."""
        if self.pretrained == "none":
            return 0
        return frozen_epoch_limit(self.freeze_epochs, self.epochs or 0)

    @property
    def progressive_size(self) -> int | None:
        """The side of the early epochs' crops (None: progressive resizing is off)."""
        side = max(32, int(self.image_size * self.progressive_scale) // 32 * 32)
        return side if self.progressive_scale < 1 and side < self.image_size else None

    def check_together(self, name: str) -> None:
        """Checks that need two settings of the section."""
        if not self.min_crop_scale <= self.max_crop_scale:
            raise ConfigError(
                f"{name}: need 0 < min_crop_scale <= max_crop_scale <= 1, got "
                f"{self.min_crop_scale} and {self.max_crop_scale}"
            )


@dataclass
class ClassifierConfig(TaskConfig):
    """The multi-label classifier's settings (`probe` or `finetune`, loss, thresholds)."""

    method: str = setting(
        "probe",
        "probe: frozen backbone, cached features, K-fold linear heads (seconds on a CPU); "
        "finetune: the whole network trained end to end (minutes).",
        choices=CLASSIFIER_METHODS,
        legacy={1: "finetune"},
    )
    image_size: int = setting(320, "Classifier input size, pixels squared.", low=32)
    epochs: int = setting(15, "finetune epochs (MSRC-v2 validation mAP plateaus after ~14).", low=1)
    loss: str = setting(
        "weighted_bce",
        "bce | weighted_bce | asl (MSRC-v2 5-fold probe Dice 0.878 | 0.883 | 0.770).",
        choices=CLASSIFICATION_LOSSES,
    )
    folds: int = setting(5, "probe: multilabel-stratified folds, one head each.", low=2)
    probe_views: int = setting(4, "probe: whole image, mirror, random crops per image.", low=1)
    probe_l2: float = setting(3e-4, "probe: L2 penalty on the head weights.", low=0)
    threshold: float | None = setting(
        None,
        "Label probability threshold; None: chosen after training on held-out predictions "
        "for the best per-image Dice.",
        low=0,
        high=1,
    )
    per_class_thresholds: bool = setting(
        False,
        "One threshold per class (MSRC-v2 5-fold cross-fitted Dice 0.887 vs 0.895 global).",
    )
    at_least_one: bool = setting(
        True, "An image with no class above threshold gets its best class.", legacy={1: False}
    )
    tta_flip: bool = setting(
        True,
        "Average with the mirrored image (MSRC-v2 probe Dice 0.895 vs 0.883).",
        legacy={1: False},
    )
    tta_scales: tuple[float, ...] = setting(
        (1.0,), "Test-time scales x image_size.", legacy={1: (1.0,)}, check=check_scales
    )


@dataclass
class SegmenterConfig(TaskConfig):
    """The segmenter's settings (decoder, loss, inference geometry, TTA, CRF)."""

    arch: str = setting(
        "auto",
        "auto (by the labels, see config.SEGMENTER_DEFAULTS) | fpn | unet | deeplabv3plus.",
        choices=SEGMENTER_ARCHITECTURES,
    )
    decoder_width: int | None = setting(
        None,
        "Decoder channels; None: smp's width (FPN 256, U-Net 128..16).",
        check=check_decoder_width,
    )
    image_size: int = setting(256, "Segmenter training input size, pixels squared.", low=32)
    progressive_scale: float = setting(
        0.75,
        "Progressive resizing: crops of this fraction of image_size's side (a multiple of "
        "32: 192 of 256) for the first progressive_share of the epochs, then image_size "
        "(1: off; docs/benchmarks.md, training speed).",
        low=0,
        high=1,
        legacy={5: 1.0},
    )
    freeze_epochs: int = setting(
        2,
        "Epochs that train the decoder alone, the pretrained encoder frozen, first (0.6x "
        "an epoch's work; at most a quarter of the epochs, none without pretrained weights).",
        low=0,
        legacy={5: 0},
    )
    epochs: int | None = setting(None, "Epochs; None: by the labels.", low=1)
    loss: str | None = setting(
        None,
        "Terms of ce, ohem (cross-entropy of the hardest pixels), focal, dice joined by '+', "
        "weighted by loss_weights (one logit: ce is BCE, dice the foreground's); None: "
        "ohem+dice where the CRF is off (cross-validated mIoU: CamVid +0.013, horse +0.002), "
        "ce+dice where it is on (MSRC-v2 with TTA and CRF: within noise, whole job -0.02).",
        legacy={3: "ce+dice"},
    )
    loss_weights: tuple[float, ...] = setting((1.0, 0.5), "One weight per loss term.")
    class_weighting: str = setting(
        "none",
        "Cross-entropy class weights: none | inverse_sqrt (1 / sqrt(pixel frequency)).",
        choices=CLASS_WEIGHTINGS,
    )
    tta_flip: bool = setting(
        True, "Average with the mirrored image's log-probabilities.", legacy={1: False}
    )
    tta_scales: tuple[float, ...] = setting(
        (0.75, 1.0, 1.25),
        "Test-time scales x the inference size (flip + 3 scales beat one view on 12 of 13 "
        "dev-set models, for about 6x the inference work).",
        legacy={1: (1.0,)},
        check=check_scales,
    )
    inference_side: int | None = setting(
        None,
        "Shorter side at inference, aspect kept (None: image_size; tiles above tile_size).",
        low=32,
    )
    inference_square: bool = setting(
        False, "Squash to inference_side squared instead (lost on all three dev sets)."
    )
    crf: bool | None = setting(
        None,
        "Dense CRF on the probabilities; None: on for multi-class sets with a background "
        "(MSRC-v2 Kaggle Dice 0.876 vs 0.864), off otherwise (CamVid mIoU 0.645 vs 0.671).",
        legacy={1: False},
    )
    tile_size: int = setting(512, "Largest side predicted in one piece.", low=64)
    self_train: bool = setting(
        False,
        "After training, label the test images with the segmenter's confident pixels and "
        "fine-tune once on training + those images (transductive; see docs/segmentation.md).",
        legacy={2: False},
    )
    pseudo_confidence: float = setting(
        0.9,
        "self_train: a test pixel is a pseudo-label when its predicted class has at least "
        "this probability (others are ignored).",
        low=0,
        high=1,
        open_range=True,
    )

    def check_together(self, name: str) -> None:
        super().check_together(name)
        loss = self.loss or default_segmentation_loss(bool(self.crf))
        terms = loss.split("+") if isinstance(loss, str) else [loss]
        if any(t not in SEGMENTATION_LOSS_TERMS for t in terms):
            raise ConfigError(
                f"{name}.loss must be terms of {SEGMENTATION_LOSS_TERMS} joined by '+', got "
                f"'{self.loss}'"
            )
        if len(self.loss_weights) != len(terms):
            raise ConfigError(
                f"{name}.loss_weights needs one weight per loss term ({len(terms)}), got "
                f"{list(self.loss_weights)}"
            )


# The models a run trains, each with its section of the configuration: the one list of model
# names (the run folder's layout, the configuration and the task objects use it).
MODEL_SECTIONS: dict[str, type[TaskConfig]] = {
    "classifier": ClassifierConfig,
    "segmenter": SegmenterConfig,
}
MODEL_NAMES = tuple(MODEL_SECTIONS)

"""Run configuration as data: one schema of dataclasses, saved in each run's run.json.

`RunConfig` is the only form a configuration takes in code: the CLI options and `--set` are
applied to it, `for_labels` settles the data-dependent defaults once when training starts,
and run.json stores the result (see `runfolder`, which also migrates older runs).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config_checks import (
    AUGMENTATIONS,
    CLASS_WEIGHTINGS,
    CLASSIFICATION_LOSSES,
    CLASSIFIER_METHODS,
    SCHEDULERS,
    SEGMENTATION_LOSS_TERMS,
    SEGMENTER_ARCHITECTURES,
    ConfigError,
    check,
)

__all__ = [
    "AUGMENTATIONS",
    "CLASSIFICATION_LOSSES",
    "CLASSIFIER_METHODS",
    "CLASS_WEIGHTINGS",
    "SCHEDULERS",
    "SEGMENTATION_LOSS_TERMS",
    "SEGMENTER_ARCHITECTURES",
    "SEGMENTER_DEFAULTS",
    "ClassifierConfig",
    "ConfigError",
    "RunConfig",
    "SegmenterConfig",
    "TaskConfig",
]


# What `arch="auto"` and `epochs=None` become once the data is known. FPN learned far faster
# than smp's U-Net on the multi-class sets under a CPU budget (MSRC-v2 val, 6 epochs at 256 px:
# Kaggle segmentation Dice 0.83 vs 0.61; CamVid, validation mIoU at 60 % of the schedule: 0.58
# vs 0.49). On binary horse U-Net led (foreground IoU 0.875 vs 0.855 at 12 epochs) and kept
# improving: 0.891 at 20 epochs, 0.903 at 32 (1663 s on one core). FPN with 18 epochs instead
# of 12: CamVid val mIoU 0.663 vs 0.640, MSRC-v2 Kaggle Dice 0.859 vs 0.855, in 1345 s and
# 1081 s on both cores, inside a 30-minute budget.
SEGMENTER_DEFAULTS = {
    "binary": {"arch": "unet", "epochs": 32},
    "multiclass": {"arch": "fpn", "epochs": 18},
}


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
    max_crop_scale: float = 1.0  # largest random crop (below 1: train on parts, e.g. full res)
    # basic: crop, flip, colour jitter; strong (segmenter): + rotation/shear, gamma, noise;
    # randaugment (classifier): + two RandAugment operations.
    augment: str = "basic"
    # warmup_cosine (per step) | onecycle | sgdr (cosine with warm restarts every
    # `restart_epochs`) | plateau (halve the rate when the monitored metric stalls).
    scheduler: str = "warmup_cosine"
    restart_epochs: int = 4
    max_minutes: float | None = None  # stop training after this wall time (best ckpt kept)
    # Epochs that train the head (decoder) alone, the pretrained encoder frozen, before
    # everything trains (classifier `finetune`: two stages).
    freeze_epochs: int = 0


@dataclass
class ClassifierConfig(TaskConfig):
    """The multi-label classifier's settings (`probe` or `finetune`, loss, thresholds)."""

    # probe: frozen backbone, cached features, K-fold linear heads (seconds on a CPU);
    # finetune: the whole network trained end to end with Lightning (minutes).
    method: str = "probe"
    image_size: int = 320
    epochs: int = 15  # finetune: validation mAP on MSRC-v2 plateaus after ~14 epochs
    # bce | weighted_bce | asl. Weighted BCE: MSRC-v2 5-fold probe Dice 0.883 vs 0.878 (BCE)
    # vs 0.770 (ASL, whose skewed probabilities need per-class thresholds: 0.855).
    loss: str = "weighted_bce"
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
    """The segmenter's settings (decoder, loss, inference geometry, TTA, CRF)."""

    # auto | fpn | unet | deeplabv3plus. auto and epochs=None follow the labels (see
    # SEGMENTER_DEFAULTS): FPN for 18 epochs on multi-class sets, U-Net for 32 on binary ones.
    arch: str = "auto"
    # Decoder channels; None: smp's FPN / DeepLabV3+ width (256) and a light U-Net (128..16).
    decoder_width: int | None = None
    image_size: int = 256
    epochs: int | None = None
    # Loss: terms joined by '+' (ce, focal, dice) weighted by `loss_weights`. The Mapping
    # Challenge combo loss 0.05 BCE + 0.95 Dice is loss="ce+dice", loss_weights=(0.05, 0.95):
    # with one logit (binary sets) cross-entropy is BCE and Dice is the foreground's.
    loss: str = "ce+dice"
    loss_weights: tuple[float, ...] = (1.0, 0.5)
    # Cross-entropy class weights from the training pixels: none | inverse_sqrt (rare classes
    # weigh more, 1 / sqrt(frequency), normalised to mean 1).
    class_weighting: str = "none"
    # Test-time augmentation: average the log-probabilities of the mirrored image and of
    # `tta_scales` x the inference size. On by default: with the aspect kept, flip + 3 scales
    # beat one view on 12 of 13 dev-set models (CamVid 18 epochs mIoU 0.671 vs 0.663,
    # MSRC-v2 Kaggle Dice 0.864 vs 0.859, horse IoU 0.910 vs 0.905; README, Benchmarks) for
    # about 6x the inference work. tta_flip=false, tta_scales=[1] predict in one view.
    tta_flip: bool = True
    tta_scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    # Inference size: each image's shorter side is resized to `inference_side` (None:
    # image_size; the images' own height = full resolution), keeping the aspect ratio, or with
    # `inference_square` the image is squashed to that size squared, like the whole images
    # seen in training. Keeping the aspect ratio won on all three dev sets (CamVid mIoU 0.640
    # vs 0.620, MSRC-v2 Kaggle Dice 0.855 vs 0.851, horse IoU 0.905 vs 0.903). Inputs larger than
    # `tile_size` on a side are predicted in overlapping tiles, so memory stays bounded.
    inference_side: int | None = None
    inference_square: bool = False
    # Dense CRF on the averaged probabilities (inference/crf.py). None: on for multi-class sets
    # with a background class (MSRC-v2 Kaggle Dice 0.876 vs 0.864 with flip + 3 scales), off
    # for binary sets and sets without background (CamVid mIoU 0.645 vs 0.671: thin poles and
    # signs are smoothed away). Settled when training starts, like `arch`.
    crf: bool | None = None
    tile_size: int = 512


@dataclass
class RunConfig:
    """Everything a run needs besides the data; run.json stores it, settled (`for_labels`)."""

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

    def task(self, name: str) -> TaskConfig:
        """The `classifier` or `segmenter` section."""
        if name not in TASK_SECTIONS:
            raise ConfigError(f"unknown model '{name}'; choose from {list(TASK_SECTIONS)}")
        return getattr(self, name)

    def set(self, setting: str) -> RunConfig:
        """Apply one 'KEY=VALUE' setting, e.g. 'segmenter.loss=focal+dice' or
        'segmenter.loss_weights=[0.05, 0.95]' (VALUE is read as JSON, else as a string);
        returns self. Unknown keys raise ConfigError."""
        key, sep, text = setting.partition("=")
        if not sep:
            raise ConfigError(f"setting '{setting}': expected KEY=VALUE")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        return self.assign(key.strip(), value)

    def assign(self, key: str, value) -> RunConfig:
        """Set the setting `key` (e.g. 'segmenter.epochs') to `value`; returns self."""
        *path, name = key.split(".")
        target = self
        for part in path:
            target = getattr(target, part, None)
            if not dataclasses.is_dataclass(target):
                raise ConfigError(f"setting '{key}': no section '{part}'")
        if name not in {f.name for f in dataclasses.fields(target)}:
            raise ConfigError(f"setting '{key}': no such setting")
        setattr(target, name, tuple(value) if isinstance(value, list) else value)
        return self

    def for_labels(self, binary: bool, background: bool = True) -> RunConfig:
        """A copy whose segmenter has a concrete architecture, epoch count and CRF choice for
        a binary or multi-class label set, with or without a background class (settings the
        user gave are kept). Training calls it once; run.json keeps the result."""
        defaults = SEGMENTER_DEFAULTS["binary" if binary else "multiclass"]
        c = self.segmenter
        segmenter = dataclasses.replace(
            c,
            arch=defaults["arch"] if c.arch == "auto" else c.arch,
            epochs=defaults["epochs"] if c.epochs is None else c.epochs,
            crf=(background and not binary) if c.crf is None else c.crf,
        )
        return dataclasses.replace(self, segmenter=segmenter)

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first setting outside its allowed values; return self."""
        check(self)
        return self

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The configuration a dict (JSON) describes; unknown keys are a ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"a configuration is a JSON object, got {type(data).__name__}")
        data = dict(data)
        sections = {}
        for name, section in TASK_SECTIONS.items():
            sections[name] = _section(section, data.pop(name, {}), name)
        return _section(cls, data, "", **sections)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read a configuration file (JSON, as `to_dict` writes it)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: not a JSON configuration file ({err})") from None
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None


TASK_SECTIONS = {"classifier": ClassifierConfig, "segmenter": SegmenterConfig}


def _section(cls, settings, where: str, **given):
    """`cls(**settings)` with JSON lists as tuples, unknown keys reported by name."""
    if not isinstance(settings, dict):
        raise ConfigError(f"'{where}' must be a JSON object, got {type(settings).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown setting '{prefix}{unknown[0]}'")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return cls(**values, **given)

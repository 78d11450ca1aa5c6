"""The allowed values of every run setting, as data, and `check`, which applies them.

Each failure is a `ConfigError` that names the setting, the allowed values and what was given,
raised before any work starts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .errors import VocvisionError

if TYPE_CHECKING:
    from .config import RunConfig


class ConfigError(VocvisionError, ValueError):
    """A run setting outside its allowed values, or a configuration file that is not one."""


CLASSIFIER_METHODS = ("probe", "finetune")
CLASSIFICATION_LOSSES = ("bce", "weighted_bce", "asl")
SEGMENTER_ARCHITECTURES = ("auto", "fpn", "unet", "deeplabv3plus")
SEGMENTATION_LOSS_TERMS = ("ce", "focal", "dice")
CLASS_WEIGHTINGS = ("none", "inverse_sqrt")
SCHEDULERS = ("warmup_cosine", "onecycle", "sgdr", "plateau")
AUGMENTATIONS = ("basic", "strong", "randaugment")

# setting -> (lowest, highest, whether the bounds are allowed); None = unbounded. Settings
# that may be None (unset) are only checked when given.
TASK_RANGES = {
    "image_size": (32, None, True),
    "epochs": (1, None, True),
    "batch_size": (1, None, True),
    "lr": (0, None, False),
    "backbone_lr_scale": (0, None, True),
    "weight_decay": (0, None, True),
    "patience": (1, None, True),
    "restart_epochs": (1, None, True),
    "max_minutes": (0, None, False),
    "freeze_epochs": (0, None, True),
}
CLASSIFIER_RANGES = {
    "folds": (2, None, True),
    "probe_views": (1, None, True),
    "probe_l2": (0, None, True),
    "threshold": (0, 1, True),
}
SEGMENTER_RANGES = {"inference_side": (32, None, True), "tile_size": (64, None, True)}
RUN_RANGES = {
    "val_fraction": (0, 1, False),
    "num_nodes": (1, None, True),
    "num_workers": (0, None, True),
    "max_train_images": (2, None, True),
}
INTEGER_SETTINGS = {
    "image_size",
    "epochs",
    "batch_size",
    "patience",
    "restart_epochs",
    "freeze_epochs",
    "folds",
    "probe_views",
    "inference_side",
    "tile_size",
    "num_nodes",
    "num_workers",
    "max_train_images",
    "seed",
}
CHOICES = {
    "classifier.method": CLASSIFIER_METHODS,
    "classifier.loss": CLASSIFICATION_LOSSES,
    "segmenter.arch": SEGMENTER_ARCHITECTURES,
    "segmenter.class_weighting": CLASS_WEIGHTINGS,
    "classifier.scheduler": SCHEDULERS,
    "segmenter.scheduler": SCHEDULERS,
    "classifier.augment": AUGMENTATIONS,
    "segmenter.augment": AUGMENTATIONS,
    "accelerator": ("auto", "cpu", "gpu", "cuda", "mps", "tpu"),
}


def check(config: RunConfig) -> None:
    """Raise ConfigError for the first setting of `config` outside its allowed values."""
    for section, ranges in (
        ("classifier", TASK_RANGES | CLASSIFIER_RANGES),
        ("segmenter", TASK_RANGES | SEGMENTER_RANGES),
        ("", RUN_RANGES | {"seed": (0, None, True)}),
    ):
        target = getattr(config, section) if section else config
        for name, bounds in ranges.items():
            _check_range(f"{section}.{name}" if section else name, getattr(target, name), bounds)
    for name, allowed in CHOICES.items():
        value = _get(config, name)
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {allowed}, got '{value}'")
    _check_devices(config.devices)
    for name in ("classifier", "segmenter"):
        _check_task(name, getattr(config, name))
    _check_segmenter(config)


def _get(config: RunConfig, name: str):
    target = config
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _check_range(name: str, value, bounds: tuple) -> None:
    if value is None and name.rsplit(".", 1)[-1] in {
        "epochs",
        "max_minutes",
        "threshold",
        "inference_side",
        "max_train_images",
    }:
        return
    low, high, inclusive = bounds
    integer = name.rsplit(".", 1)[-1] in INTEGER_SETTINGS
    if not is_number(value) or (integer and float(value) != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    below = value < low if inclusive else value <= low
    above = high is not None and (value > high if inclusive else value >= high)
    if below or above:
        sign = ("<=", ">=") if inclusive else ("<", ">")
        allowed = f"{sign[1]} {low}" if high is None else f"in {low}..{high}"
        if high is not None and not inclusive:
            allowed = f"strictly between {low} and {high}"
        raise ConfigError(f"{name} must be {allowed}, got {value}")


def _check_devices(devices) -> None:
    text = str(devices).strip()
    if text == "auto" or text == "-1":
        return
    parts = [p for p in text.split(",") if p.strip()]
    if not parts or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"devices must be 'auto', a count >= 1 or a list of ids, got '{devices}'")
    if len(parts) == 1 and int(parts[0]) < 1:
        raise ConfigError(f"devices must be 'auto' or a count >= 1, got '{devices}'")


def _check_task(name: str, c) -> None:
    if not c.tta_scales or not all(is_number(s) and s > 0 for s in c.tta_scales):
        raise ConfigError(
            f"{name}.tta_scales needs at least one scale, all above 0 (1 = the inference size "
            f"alone), got {list(c.tta_scales)}"
        )
    if not 0 < c.min_crop_scale <= c.max_crop_scale <= 1:
        raise ConfigError(
            f"{name}: need 0 < min_crop_scale <= max_crop_scale <= 1, got {c.min_crop_scale} "
            f"and {c.max_crop_scale}"
        )


def _check_segmenter(config: RunConfig) -> None:
    c = config.segmenter
    terms = c.loss.split("+") if isinstance(c.loss, str) else [c.loss]
    if any(t not in SEGMENTATION_LOSS_TERMS for t in terms):
        raise ConfigError(
            f"segmenter.loss must be terms of {SEGMENTATION_LOSS_TERMS} joined by '+', got "
            f"'{c.loss}'"
        )
    if len(c.loss_weights) != len(terms):
        raise ConfigError(
            f"segmenter.loss_weights needs one weight per loss term ({len(terms)}), got "
            f"{list(c.loss_weights)}"
        )
    width = c.decoder_width
    if width is not None and (not isinstance(width, int) or width < 64 or width % 64):
        raise ConfigError(
            f"segmenter.decoder_width must be a multiple of 64 (FPN's group norms take groups "
            f"of 32 channels), got {width}"
        )


def is_number(value) -> bool:
    """A real, finite number (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

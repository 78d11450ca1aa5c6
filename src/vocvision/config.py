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

from .config_fields import ConfigError, check, check_devices, check_pattern, declared, setting
from .model_config import (
    ACCELERATORS,
    AUGMENTATIONS,
    CLASS_WEIGHTINGS,
    CLASSIFICATION_LOSSES,
    CLASSIFIER_METHODS,
    MODEL_SECTIONS,
    SCHEDULERS,
    SEGMENTATION_LOSS_TERMS,
    SEGMENTER_ARCHITECTURES,
    ClassifierConfig,
    SegmenterConfig,
    TaskConfig,
    default_segmentation_loss,
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
# 1081 s on both cores, inside a 30-minute budget. Since issue 36's speed-ups the 18 epochs
# fit a 20-minute job with 100 s of the segmenter's share unused, so the multi-class count is
# now 30, for the time budget to cut (20 epochs fit there: Kaggle Dice 0.8755 vs 0.8701).
SEGMENTER_DEFAULTS = {
    "binary": {"arch": "unet", "epochs": 32},
    "multiclass": {"arch": "fpn", "epochs": 30},
}


@dataclass
class RunConfig:
    """Everything a run needs besides the data; run.json stores it, settled (`for_labels`)."""

    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    val_fraction: float = setting(
        0.15,
        "Share of the training images held out for validation.",
        low=0,
        high=1,
        open_range=True,
    )
    group_pattern: str | None = setting(
        None,
        "Regular expression on the image ids whose match at the start (its first group, "
        "if any) names a group kept on one side of the validation split and of every fold, "
        "e.g. '[^_]+' for CamVid's video sequences (None: every image its own group).",
        check=check_pattern,
        legacy={5: None},
    )
    seed: int = setting(0, "Seed for splits, initialisation, augmentation.", low=0)
    accelerator: str = setting("auto", "cpu | gpu | auto.", choices=ACCELERATORS)
    devices: str = setting(
        "auto", "Devices per node: a count or 'auto' (several: DDP).", check=check_devices
    )
    num_nodes: int = setting(1, "Machines to train on (DDP; see docs/design.md).", low=1)
    precision: str = setting(
        "auto",
        "Training precision: auto (bf16 autocast where the CPU or GPU computes in bf16, "
        "else float32 or 16-mixed) | 32-true | bf16-mixed | 16-mixed.",
        legacy={5: "32-true"},
    )
    num_workers: int = setting(0, "Data loading processes; 0 is fastest on a 2-core CPU.", low=0)
    max_train_images: int | None = setting(
        None, "Use only the first N training images (smoke runs).", low=2
    )
    label_fusion: bool = setting(
        True,
        "Let held-out images decide whether labels fuse the classifier with the segmenter's "
        "class areas.",
    )
    attack_goal: str | None = setting(
        None,
        "The attack generator's goal, a class name: the classifier adds it to every image, "
        "the segmenter paints every pixel with it (default: the rarest class; background).",
        legacy={4: None},
    )
    gate_segmentation: bool = setting(
        False,
        "Restrict masks to the classes the classifier predicts (helped a weak segmenter, "
        "+0.05 Dice, not a good one, -0.01).",
    )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def task(self, name: str) -> TaskConfig:
        """The `classifier` or `segmenter` section."""
        if name not in MODEL_SECTIONS:
            raise ConfigError(f"unknown model '{name}'; choose from {list(MODEL_SECTIONS)}")
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

    @classmethod
    def describe(cls, key: str) -> str:
        """The declared help of setting `key`, e.g. 'segmenter.epochs'."""
        for name, f, _ in declared(cls()):
            if name == key:
                return f.metadata["help"]
        raise ConfigError(f"setting '{key}': no such setting")

    @classmethod
    def settings_table(cls) -> list[tuple[str, str, str, str]]:
        """(name, default, allowed values, help) of every setting, as declared."""
        rows = []
        for name, f, value in declared(cls()):
            meta = f.metadata
            allowed = meta["choices"] or meta["range"] or ""
            if isinstance(allowed, tuple) and meta["range"]:
                low, high, inclusive = allowed
                allowed = f"{low if low is not None else ''}..{high if high is not None else ''}"
                allowed += "" if inclusive else " (open)"
            rows.append((name, json.dumps(value), str(allowed), meta["help"]))
        return rows

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
        """A copy whose segmenter has a concrete architecture, epoch count, CRF choice and
        loss for a binary or multi-class label set, with or without a background class
        (settings the user gave are kept). Training calls it once; run.json keeps the result.

        The loss follows the CRF: OHEM's gain on hard pixels (small objects, thin classes,
        boundaries) held under cross-validation where no CRF runs, and vanished where the
        CRF already fixes those pixels (docs/benchmarks.md, segmentation levers)."""
        defaults = SEGMENTER_DEFAULTS["binary" if binary else "multiclass"]
        c = self.segmenter
        crf = (background and not binary) if c.crf is None else c.crf
        segmenter = dataclasses.replace(
            c,
            arch=defaults["arch"] if c.arch == "auto" else c.arch,
            epochs=defaults["epochs"] if c.epochs is None else c.epochs,
            crf=crf,
            loss=default_segmentation_loss(crf) if c.loss is None else c.loss,
        )
        return dataclasses.replace(self, segmenter=segmenter)

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first setting outside its allowed values; return self."""
        check(self)
        for name in MODEL_SECTIONS:
            self.task(name).check_together(name)
        several = self.num_nodes > 1 or self.devices not in ("auto", "1")
        if self.segmenter.self_train and several:
            raise ConfigError(
                "segmenter.self_train fine-tunes on one device: drop --devices and --num-nodes"
            )
        return self

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The configuration a dict (JSON) describes; unknown keys are a ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"a configuration is a JSON object, got {type(data).__name__}")
        data = dict(data)
        sections = {}
        for name, section in MODEL_SECTIONS.items():
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

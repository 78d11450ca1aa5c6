"""The typed records a run folder holds: what each step writes and the next one reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data.sample import MaskCoding

SCHEMA_VERSION = 6
# Each schema's default settings, as `defaults_digest` prints them. A test fails when the
# defaults change and SCHEMA_VERSION does not move: bump it, add the new digest, and give
# each changed or added setting `legacy={old schema: the value runs of it used}`.
DEFAULTS_DIGESTS = {
    2: "c1ee343fa073b807",
    3: "4fcfdb4af52635c8",
    4: "6af8c443b811d631",
    5: "3961e1cbda8498a9",
    6: "983d8eec70122565",
}


def defaults_digest() -> str:
    """A short hash of today's default settings (`RunConfig().to_dict()`)."""
    text = json.dumps(RunConfig().to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class RunInfo:
    """run.json: the data a run was trained on, how it was split, and its settled config."""

    data_dir: Path
    train_split: str
    test_split: str
    classes: list[str]
    has_background: bool
    coding: MaskCoding
    train_ids: list[str]
    val_ids: list[str]
    config: RunConfig

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA_VERSION,
            "data": {
                "dir": str(self.data_dir),
                "train_split": self.train_split,
                "test_split": self.test_split,
                "classes": self.classes,
                "has_background": self.has_background,
                "mask_coding": self.coding.to_dict(),
            },
            "train_ids": self.train_ids,
            "val_ids": self.val_ids,
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunInfo:
        """From a run.json of today's schema (see `migrate` for older ones)."""
        d = data["data"]
        return cls(
            Path(d["dir"]),
            d["train_split"],
            d["test_split"],
            list(d["classes"]),
            bool(d["has_background"]),
            MaskCoding.from_dict(d["mask_coding"]),
            list(data["train_ids"]),
            list(data["val_ids"]),
            RunConfig.from_dict(data["config"]),
        )


@dataclass
class Predictions:
    """A model's outputs for one split, as handed to the user.

    `probabilities` are the classifier's (None without one); `scores` the label scores the
    labelling rule thresholds (fused with the class areas when the rule fuses; 0/1 presence
    in the masks without a classifier); `labels` the N x K 0/1 labels; `masks` one H x W
    mask per image in the dataset's own values (`coding`), empty without a segmenter.
    """

    ids: list[str]
    classes: list[str]
    scores: np.ndarray
    labels: np.ndarray
    masks: list[np.ndarray]
    coding: MaskCoding
    probabilities: np.ndarray | None = None
    split: str = ""

    def label_masks(self) -> list[np.ndarray]:
        """The masks in vocvision's labels (0 = background, 1..K), e.g. for a submission."""
        return [self.coding.to_labels(m) for m in self.masks]

    def label_names(self, index: int) -> list[str]:
        """The predicted class names of image `index`."""
        return [self.classes[k] for k in np.flatnonzero(self.labels[index])]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class AttackRow:
    """One measured attack. `attack` names the method (noise, fgsm, pgd, targeted_pgd,
    transfer, universal, generator); `curve` marks the rows of the eps curve, `defence` the
    rows against a defended model (`adaptive`: the attack went through the defence)."""

    model: str
    attack: str
    eps_255: float
    metric: str
    clean: float
    adversarial: float
    ratio: float
    fooling_rate: float
    linf_255: float
    l2: float
    psnr: float
    ssim: float
    seconds_per_image: float
    images: int
    success: float | None = None
    clean_success: float | None = None  # how much of the goal the clean images already meet
    steps: int | None = None
    goal: str | None = None
    source: str | None = None
    defence: str | None = None
    adaptive: bool | None = None
    curve: bool = False
    fit_seconds: float | None = None
    train_loss: list[float] = field(default_factory=list)
    trained_on: str | None = None  # what a learnt attack saw, e.g. "8 epochs of 64 images"

    @property
    def name(self) -> str:
        """A display name, e.g. 'PGD-10 4/255' or 'JPEG q75, adaptive PGD-10'."""
        budget = f"{self.eps_255:g}/255"
        steps = f"-{self.steps}" if self.steps else ""
        base = {
            "noise": f"noise {budget}",
            "fgsm": f"FGSM {budget}",
            "pgd": f"PGD{steps} {budget}",
            "targeted_pgd": f"PGD{steps} targeted ({self.goal}) {budget}",
            "transfer": f"transfer: PGD made on the {self.source} {budget}",
            "universal": f"universal {budget}",
            "generator": f"generator {budget} ({self.goal})",
        }.get(self.attack, f"{self.attack} {budget}")
        if self.curve:
            base = f"curve {base}"
        if self.defence:
            how = "adaptive" if self.adaptive else "non-adaptive"
            base = f"{self.defence}, {how} {base}"
        return base

    @classmethod
    def from_dict(cls, data: dict) -> AttackRow:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class AttackResults:
    """attacks/results.json: the suite's settings, rows and figures."""

    split: str
    images: int
    eps: float
    steps: int
    targeted_steps: int
    threat_model: str
    rows: list[AttackRow]
    figures: dict[str, str] = field(default_factory=dict)  # file name -> caption
    skipped: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """One row per attack: the display name first, then every measured field."""
        records = [{"name": r.name, **asdict(r)} for r in self.rows]
        return pd.DataFrame.from_records(records).drop(columns=["train_loss"], errors="ignore")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rows"] = [{**asdict(r), "name": r.name} for r in self.rows]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> AttackResults:
        data = dict(data)
        rows = [AttackRow.from_dict(r) for r in data.pop("rows")]
        known = {f.name for f in fields(cls)}
        return cls(rows=rows, **{k: v for k, v in data.items() if k in known})


@dataclass
class StudySection:
    """One protocol of the classification study: its rows and where they were measured."""

    data_dir: str
    images: int
    classes: list[str]
    rows: list[dict]
    folds: int | None = None
    split: str | None = None


@dataclass
class Evaluation:
    """evaluation/evaluation.json: the numbers the report shows, measured once, and the
    figures (file name -> caption) written beside it."""

    split: str  # what was scored, in words: "test split (53 images)", ...
    data: dict
    training: dict
    labelling: dict | None
    classification: dict | None
    segmentation: dict | None
    figures: dict[str, str] = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)  # model -> label and summary metrics
    # what each "Improvement" rests on: name -> new, old, difference, its 95 % paired
    # bootstrap interval (low, high), images, verdict (see vocvision.uncertainty)
    comparisons: dict = field(default_factory=dict)
    images: int | None = None  # how many answered images the scores rest on

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class JobStage:
    """One stage of `vocvision run`: its share of the budget, the time it took, and whether
    it ran ("done"), was left out by `--only` ("not asked") or did not fit ("skipped")."""

    name: str
    allotted_s: float
    seconds: float = 0.0
    status: str = "done"
    note: str = ""


@dataclass
class JobRecord:
    """job.json: the budget of a `vocvision run` and what each stage did with its share."""

    budget_s: float
    stages: list[JobStage] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> JobRecord:
        return cls(data["budget_s"], [JobStage(**s) for s in data.get("stages", [])])

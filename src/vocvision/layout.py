"""Where every file of a run folder lives: the one place that names them.

    RUN/run.json                        the data, the splits and the settled configuration
    RUN/<model>/model.safetensors       the trained weights (+ config.json: how to build it)
    RUN/<model>/labelling.json          classifier: how labels are made (chosen on val)
    RUN/<model>/oof.npz                 probe classifier: out-of-fold training predictions
    RUN/<model>/checkpoints/{best,last}.ckpt, logs/metrics.csv, tensorboard/   (Lightning)
    RUN/predictions/<split>.npz         probabilities, labels, masks (dataset's own values)
    RUN/submission.csv, score.json      the Kaggle submission and its local score
    RUN/evaluation/evaluation.json      metrics on the answered split, + figures/*.png
    RUN/attacks/results.json            the attack suite's rows, + figures and PGD images
    RUN/study/study.json                the classification ablations
    RUN/baselines/<name>/               the baselines (each a run folder)
    RUN/job.json                        `vocvision run`: each stage's budget, time, outcome
    RUN/export/<model>.onnx, export.json   `vocvision export`: the models for ONNX Runtime
    RUN/report.html, RUN/logs/          the report; the console log of each command

`runfolder` reads and writes what these paths hold, typed; nothing else builds run paths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .model_config import MODEL_NAMES


@dataclass(frozen=True)
class ModelLayout:
    """The files of one trained model (`RUN/<name>/`)."""

    root: Path

    @property
    def weights(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.ckpt"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def metrics_csv(self) -> Path:
        return self.logs / "metrics.csv"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def labelling(self) -> Path:
        return self.root / "labelling.json"

    @property
    def oof(self) -> Path:
        return self.root / "oof.npz"

    # Files of the earlier format (before model.safetensors), read only to migrate a run.
    @property
    def legacy_probe(self) -> Path:
        return self.checkpoints / "probe.pt"


@dataclass(frozen=True)
class RunLayout:
    """The files of a run folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def model(self, name: str) -> ModelLayout:
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model '{name}'; choose from {MODEL_NAMES}")
        return ModelLayout(self.root / name)

    @property
    def info(self) -> Path:
        return self.root / "run.json"

    def predictions(self, split: str, data_dir: Path | None = None) -> Path:
        """`predictions/<split>.npz` for the run's own data; other data get their own file
        (`<split>-<hash of the folder>.npz`), so they never overwrite the run's."""
        name = split if data_dir is None else f"{split}-{_short_hash(data_dir)}"
        return self.predictions_dir / f"{name}.npz"

    @property
    def predictions_dir(self) -> Path:
        return self.root / "predictions"

    @property
    def submission(self) -> Path:
        return self.root / "submission.csv"

    @property
    def score(self) -> Path:
        return self.root / "score.json"

    @property
    def evaluation_dir(self) -> Path:
        return self.root / "evaluation"

    @property
    def evaluation(self) -> Path:
        return self.evaluation_dir / "evaluation.json"

    @property
    def attacks_dir(self) -> Path:
        return self.root / "attacks"

    @property
    def attacks(self) -> Path:
        return self.attacks_dir / "results.json"

    @property
    def study_dir(self) -> Path:
        return self.root / "study"

    @property
    def study(self) -> Path:
        return self.study_dir / "study.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def notebook(self) -> Path:
        return self.root / "report.ipynb"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    @property
    def job(self) -> Path:
        return self.root / "job.json"

    def baseline(self, name: str) -> Path:
        """The run folder of a baseline (a name of `workflow.baselines.BASELINES`)."""
        if not name.isidentifier():
            raise ValueError(f"a baseline's name is a word, got '{name}'")
        return self.root / "baselines" / name


def _short_hash(path: Path) -> str:
    return hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:8]

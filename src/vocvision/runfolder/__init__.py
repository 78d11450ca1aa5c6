"""The run folder's one owner: typed readers and writers of everything a run holds.

Paths come from `layout`; records from `records`; older runs are brought forward by
`migrate`. Every write is atomic (`fileio`).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.sample import MaskCoding
from ..errors import RunFolderError
from ..fileio import atomic_path, write_json
from ..inference import LabellingRule
from ..layout import MODEL_NAMES, ModelLayout, RunLayout
from ..submission import Score
from .migrate import migrate, migrate_model
from .records import (
    SCHEMA_VERSION,
    AttackResults,
    AttackRow,
    Evaluation,
    JobRecord,
    JobStage,
    Predictions,
    RunInfo,
    StudySection,
)

__all__ = [
    "SCHEMA_VERSION",
    "AttackResults",
    "AttackRow",
    "Evaluation",
    "JobRecord",
    "JobStage",
    "Predictions",
    "RunFolder",
    "RunInfo",
    "StudySection",
    "migrate",
]


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: no {what} here") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunFolderError(f"{path}: unreadable {what} ({err})") from None


class RunFolder:
    """A run folder on disk (see `layout` for what lives where)."""

    def __init__(self, root: str | Path) -> None:
        self.layout = RunLayout(Path(root))
        self.root = self.layout.root

    def model(self, name: str) -> ModelLayout:
        return self.layout.model(name)

    def is_run(self) -> bool:
        return self.layout.info.is_file()

    # run.json ---------------------------------------------------------------------------
    def read_info(self) -> RunInfo:
        """The run's description, brought to today's schema."""
        path = self.layout.info
        if not path.is_file():
            raise RunFolderError(f"{path}: not a vocvision run folder (train first)")
        try:
            return RunInfo.from_dict(migrate(_read_json(path, "run description"), path))
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, RunFolderError):
                raise
            raise RunFolderError(f"{path}: not a valid run description ({err})") from None

    def write_info(self, info: RunInfo) -> None:
        write_json(self.layout.info, info.to_dict())

    def trained_models(self, info: RunInfo) -> tuple[str, ...]:
        """The models this run has weights for (runs of the earlier format are converted)."""
        found = []
        for name in MODEL_NAMES:
            layout = self.model(name)
            if not layout.weights.is_file():
                migrate_model(layout, name, info)
            if layout.weights.is_file():
                found.append(name)
        return tuple(found)

    # labelling ---------------------------------------------------------------------------
    def read_labelling(self) -> LabellingRule | None:
        path = self.model("classifier").labelling
        if not path.is_file():
            return None
        data = _read_json(path, "labelling rule")
        try:
            return LabellingRule.from_dict(data)
        except TypeError as err:
            raise RunFolderError(f"{path}: not a labelling rule ({err})") from None

    def write_labelling(self, rule: LabellingRule) -> None:
        write_json(self.model("classifier").labelling, rule.to_dict())

    # predictions -------------------------------------------------------------------------
    def write_predictions(self, predictions: Predictions, path: Path) -> Path:
        masks = {f"mask_{i}": m for i, m in enumerate(predictions.masks)}
        extra = (
            {}
            if predictions.probabilities is None
            else {"probabilities": predictions.probabilities}
        )
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                ids=np.array(predictions.ids),
                classes=np.array(predictions.classes),
                scores=predictions.scores,
                labels=predictions.labels,
                coding=np.array(json.dumps(predictions.coding.to_dict())),
                split=np.array(predictions.split),
                **extra,
                **masks,
            )
        return path

    def read_predictions(self, path: Path) -> Predictions:
        if not path.is_file():
            raise RunFolderError(f"{path}: no predictions here (run predict first)")
        try:
            with np.load(path, allow_pickle=False) as data:
                ids = data["ids"].tolist()
                return Predictions(
                    ids,
                    data["classes"].tolist(),
                    data["scores"],
                    data["labels"],
                    [data[f"mask_{i}"] for i in range(len(ids)) if f"mask_{i}" in data],
                    MaskCoding.from_dict(json.loads(str(data["coding"]))),
                    data.get("probabilities"),
                    str(data["split"]),
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise RunFolderError(f"{path}: unreadable predictions ({err or 'empty'})") from None

    # score, attacks, study, evaluation -------------------------------------------------
    def write_score(self, score: Score, intervals: dict | None = None) -> None:
        """score.json: the Kaggle mean Dice and its halves, with their 95 % intervals over
        the test images when given."""
        extra = {"intervals": intervals, "images": len(score.per_image)} if intervals else {}
        write_json(self.layout.score, {**score.as_dict(), **extra})

    def read_score(self) -> dict | None:
        path = self.layout.score
        return _read_json(path, "score") if path.is_file() else None

    def write_attacks(self, results: AttackResults) -> None:
        write_json(self.layout.attacks, results.to_dict())

    def read_attacks(self) -> AttackResults | None:
        path = self.layout.attacks
        if not path.is_file():
            return None
        return AttackResults.from_dict(_read_json(path, "attack results"))

    def write_study(self, study: dict[str, StudySection]) -> None:
        write_json(self.layout.study, {k: asdict(v) for k, v in study.items()})

    def read_study(self) -> dict[str, StudySection]:
        path = self.layout.study
        if not path.is_file():
            return {}
        return {k: StudySection(**v) for k, v in _read_json(path, "study").items()}

    def write_evaluation(self, evaluation: Evaluation) -> None:
        write_json(self.layout.evaluation, asdict(evaluation))

    def read_evaluation(self) -> Evaluation | None:
        path = self.layout.evaluation
        if not path.is_file():
            return None
        return Evaluation.from_dict(_read_json(path, "evaluation"))

    def write_job(self, job: JobRecord) -> None:
        write_json(self.layout.job, job.to_dict())

    def read_job(self) -> JobRecord | None:
        path = self.layout.job
        return JobRecord.from_dict(_read_json(path, "job record")) if path.is_file() else None

"""The notebook API: `Run`, the object that holds a trained run, and `train` and `study`,
which make one (`vocvision.job.run` does the whole budgeted job through `Run`)."""

from __future__ import annotations

from pathlib import Path

from ..config import RunConfig
from ..layout import MODEL_NAMES
from ..runfolder import RunFolder
from ..training import is_worker_process
from ..workflow.study import study
from ..workflow.train_run import train_run
from .trained_run import Run

__all__ = ["Run", "study", "train"]


def train(
    data: str | Path,
    out: str | Path,
    config: RunConfig | None = None,
    models: tuple[str, ...] = MODEL_NAMES,
    resume: bool = False,
    progress: bool = True,
) -> Run:
    """Train `models` on `data`'s training split into the run folder `out`, then choose the
    labelling rule with every model of the run in place."""
    info = train_run(data, out, config, models, resume, progress)
    trained = Run(RunFolder(out), info)
    if not is_worker_process() and trained.folder.trained_models(info):
        trained.choose_labelling()
    return trained

"""`vocvision run`: the whole assignment in one budgeted job.

Stages, in order: classify, segment (train the two models), baselines (the from-scratch
classifier and U-Net), predict (the test split, submission.csv, its score), attack (the suite
on the validation part, as much of it as fits), report (evaluation, report.html,
report.ipynb). Each stage gets its share of the time still left (`schedule.STAGE_SHARES`);
training fits its epochs to that share, the attack suite its images and optional attacks;
a stage that cannot fit is skipped, and job.json (and so the report) says so.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..api import Run
from ..config import RunConfig
from ..data import has_masks, read_split
from ..errors import VocvisionError
from ..runfolder import JobRecord, JobStage, RunFolder
from ..submission import Score
from ..training import is_worker_process
from ..workflow.robustness.suite import check_goal
from .context import JobContext
from .schedule import DEFAULT_BUDGET_S, PARTS, Budget, Reporter, SilentReporter
from .stages import STAGES, refresh_report

__all__ = ["DEFAULT_BUDGET_S", "PARTS", "JobContext", "run"]
TRAINING_STAGES = ("classify", "segment", "baselines")
NO_MASKS = "the data has image labels only (no masks), so segmentation was not asked for"
log = logging.getLogger(__name__)


def _run_stages(
    data_dir: str | Path,
    root: str | Path,
    config: RunConfig | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    only: tuple[str, ...] = PARTS,
    resume: bool = False,
    reporter: Reporter | None = None,
) -> JobContext:
    """Run the stages of the parts in `only` (predict and report always run) within
    `budget_s` seconds; returns the job's context (run folder, description, score)."""
    unknown = [part for part in only if part not in PARTS]
    if unknown or not only:
        raise VocvisionError(f"--only takes parts among {','.join(PARTS)}; got {only}")
    if budget_s <= 0:
        raise VocvisionError(f"the budget must be positive, got {budget_s:g} s")
    context = JobContext(
        Path(data_dir),
        RunFolder(root),
        (config or RunConfig()).validate(),
        Budget(budget_s),
        reporter or SilentReporter(),
        resume,
    )
    record = JobRecord(budget_s)
    not_asked = {name: "left out by --only" for name in PARTS if name not in only}
    if "segment" in only and not has_masks(data_dir):
        not_asked["segment"] = NO_MASKS
        log.warning("%s: %s", data_dir, NO_MASKS)
    if context.config.attack_goal and "attack" in only:  # a typo found now, not after training
        check_goal(context.config.attack_goal, read_split(data_dir, "train").classes)
    pending = [name for name in STAGES if name not in not_asked]
    for name, why in not_asked.items():
        record.stages.append(JobStage(name, 0.0, status="not asked", note=why))
    record.stages.sort(key=lambda s: list(STAGES).index(s.name))
    worker = is_worker_process()
    for name in list(pending):
        if worker and name not in TRAINING_STAGES:
            continue  # a DDP worker only trains; the main process predicts, attacks, writes
        allotted = context.budget.allot(name, pending)
        context.reporter.start(name, allotted, context.budget.left())
        started = time.perf_counter()
        status, note = STAGES[name](context, allotted)
        stage = JobStage(name, allotted, time.perf_counter() - started, status, note)
        context.seconds[name] = stage.seconds
        record.stages.append(stage)
        record.stages.sort(key=lambda s: list(STAGES).index(s.name))
        if not worker:
            context.folder.write_job(record)
        context.reporter.finish(stage)
        pending.remove(name)
    if not worker:
        refresh_report(context)  # so the report's stage table has the report stage too
    return context


def run(
    data: str | Path,
    out: str | Path,
    config: RunConfig | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    only: tuple[str, ...] = PARTS,
    resume: bool = False,
    reporter: Reporter | None = None,
) -> tuple[Run, Score | None]:
    """The whole job in `budget_s` seconds (see the module doc): train both models and the
    from-scratch baselines, predict the test split, write and score submission.csv, attack,
    evaluate, write report.html and report.ipynb. `only` keeps some parts (classify,
    segment, baselines, attack). Returns the run and its score (None when the test answers
    are hidden)."""
    context = _run_stages(data, out, config, budget_s, only, resume, reporter)
    trained = context.run if context.info is not None else Run.load(context.folder.root)
    return trained, context.score

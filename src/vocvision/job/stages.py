"""The stages of `vocvision run`, each `stage(context, allotted_s) -> (status, note)`."""

from __future__ import annotations

import time

from ..data import ImageSet
from ..report.notebook import notebook_ran
from ..training import EpochBudget, is_worker_process, main_process_decides, trained_epochs
from ..workflow.baselines import BASELINES
from ..workflow.robustness import AttackSettings
from ..workflow.robustness.plan import plan_attacks
from ..workflow.train_run import train_run
from ..workflow.view_choice import TIMED_IMAGES, fit_views
from .context import JobContext
from .schedule import MIN_SECONDS, EpochProgress

# Of the predict stage's share, what the segmenter's views may take: the rest is for the
# labelling choice's classifier, the test labels and writing submission.csv.
VIEWS_SHARE = 0.8


def _train(context: JobContext, name: str, allotted: float) -> tuple[str, str]:
    callbacks = [EpochBudget(allotted), EpochProgress(context.reporter, f"training the {name}")]
    context.info = train_run(
        context.data_dir,
        context.folder.root,
        context.config,
        (name,),
        context.resume,
        progress=False,
        callbacks=callbacks,
    )
    epochs = _epochs(context, name)
    return "done", f"{epochs} epochs" if epochs else "fitted in closed form (frozen features)"


def _epochs(context: JobContext, name: str) -> int | None:
    """The epochs a model trained (None for the probe), from its log."""
    task_config = context.info.config.task(name)
    if getattr(task_config, "method", "finetune") == "probe":
        return None
    return trained_epochs(context.folder.model(name).metrics_csv)


def classify(context: JobContext, allotted: float) -> tuple[str, str]:
    return _train(context, "classifier", allotted)


def segment(context: JobContext, allotted: float) -> tuple[str, str]:
    return _train(context, "segmenter", allotted)


def baselines(context: JobContext, allotted: float) -> tuple[str, str]:
    # Under DDP the processes' clocks differ and only the main one's files are sure to be
    # there: all of them train what the main process chooses, or none would get past a fit.
    trained = ()
    if context.info is not None and not is_worker_process():
        trained = context.folder.trained_models(context.info)
    allotted, trained = main_process_decides((allotted, trained))
    if not trained:
        return "skipped", "no model was trained"
    if allotted < MIN_SECONDS["baselines"]:
        return "skipped", f"{allotted:.0f} s left: too little to train a baseline"
    chosen = {name: b for name, b in BASELINES.items() if b.model in trained}
    pending = sum(b.share for b in chosen.values())
    notes, started = [], time.perf_counter()
    for name, baseline in chosen.items():
        # its share of the time still left: what an earlier baseline left unused goes on
        left = allotted - (time.perf_counter() - started)
        seconds, pending = left * baseline.share / pending, pending - baseline.share
        label = baseline.label
        context.reporter.update(f"training the {label}")
        callbacks = [EpochBudget(seconds), EpochProgress(context.reporter, label)]
        context.run.train_baseline(name, callbacks)
        notes.append(label)
    return "done", ", ".join(notes)


def predict(context: JobContext, allotted: float) -> tuple[str, str]:
    if context.info is None:
        return "skipped", "no model was trained"
    test = context.run.images("test")
    views = _fit_views(context, test, allotted) if len(test) else ""
    run = context.run
    if run.models.classifier:
        context.reporter.update("choosing the labelling rule")
        run.choose_labelling()
    if not len(test):
        return "skipped", "the data has no test images (every image is labelled)"
    context.reporter.update(f"predicting {len(test)} test images")
    predictions = run.predict(split="test")
    if not predictions.masks:
        return "done", f"{len(test)} test images; no submission without a segmenter"
    submission = run.submit()
    if submission.truth is None:
        return "done", f"{len(test)} test images; submission.csv (test answers hidden){views}"
    context.score = score = submission.score()
    return "done", f"{len(test)} test images; Kaggle mean Dice {score.overall:.4f}{views}"


def _fit_views(context: JobContext, test: ImageSet, allotted: float) -> str:
    """Keep the segmenter's richest test-time views that fit the stage's share (timed
    here), for the test images and, when labelling may fuse the masks, the validation part;
    returns the note's words on them ("" without a segmenter)."""
    run = context.run
    if not run.models.segmenter:
        return ""
    config = context.info.config
    fusing = run.models.classifier and config.label_fusion and config.classifier.threshold is None
    images = len(test) + (len(context.info.val_ids) if fusing else 0)
    context.reporter.update("timing the test-time views")
    pixels = [s.image for s in test.samples[: TIMED_IMAGES + 1]]
    context.info, choice = fit_views(
        context.folder, context.info, run.models, pixels, images, allotted * VIEWS_SHARE
    )
    return f"; views: {choice.describe()}"


def attack(context: JobContext, allotted: float) -> tuple[str, str]:
    if allotted < MIN_SECONDS["attack"] or context.info is None:
        return "skipped", f"{allotted:.0f} s left: too little to attack"
    run = context.run
    val, train = run.images("val"), run.images("train")
    base = AttackSettings(goal=context.config.attack_goal)
    plan = plan_attacks(run.models, allotted, len(val), len(train), base)
    if plan.settings is None:
        return "skipped", "; ".join(plan.skipped)
    context.reporter.update(f"attacking {plan.settings.max_images} validation images")
    results = run.attack("val", settings=plan.settings, skipped=plan.skipped)
    left_out = f"; left out: {'; '.join(plan.skipped)}" if plan.skipped else ""
    return "done", f"{len(results.rows)} attacks on {results.images} images{left_out}"


def report(context: JobContext, allotted: float) -> tuple[str, str]:
    if context.info is None:
        return "skipped", "no model was trained"
    context.reporter.update("evaluating and writing the report")
    started = time.perf_counter()
    context.run.evaluate()
    left = allotted - (time.perf_counter() - started)
    context.reporter.update("running the notebook")
    context.run.report(measure=False, execute_s=max(30.0, left))
    ran = notebook_ran(context.folder.layout.notebook)
    return "done", f"report.html and report.ipynb ({'run' if ran else 'not run: see the log'})"


def refresh_report(context: JobContext) -> None:
    """Render report.html and report.ipynb again from the finished job's records."""
    if context.info is not None and context.folder.read_evaluation() is not None:
        context.run.report(measure=False)


STAGES = {
    "classify": classify,
    "segment": segment,
    "baselines": baselines,
    "predict": predict,
    "attack": attack,
    "report": report,
}

"""Commands on runs: train, run the whole job, the demo, predict, submit, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import api, job
from ..config import RunConfig
from ..data import has_masks, write_synthetic_dataset
from ..job import PARTS
from ..layout import MODEL_NAMES
from .console import app, command_log, console, print_score, state
from .options import parse_duration, with_training_options
from .progress import RichReporter

DataArg = Annotated[
    Path,
    typer.Argument(help="Data folder: Kaggle, VOC, COCO, images + masks, or images + labels.csv."),
]
RunArg = Annotated[Path, typer.Argument(help="Run folder (from `train` or `run`).")]
OutOption = Annotated[Path, typer.Option(help="Run folder.")]
Resume = Annotated[bool, typer.Option(help="Continue from each model's last.ckpt.")]


Budget = Annotated[
    str,
    typer.Option(
        help="Time for the whole job: 45m, 1h30m, 2700s; stages that do not fit are "
        "skipped and the report says so (a GPU user raises it)."
    ),
]
Only = Annotated[
    str | None,
    typer.Option(
        help=f"Only these parts, comma-separated: {','.join(PARTS)} (predicting and "
        "the report always run)."
    ),
]


def _finish(trained: api.Run, score) -> None:
    if score:
        print_score(score)
    layout = trained.folder.layout
    for name, path in (
        ("submission", layout.submission),
        ("report", layout.report),
        ("notebook", layout.notebook),
    ):
        if path.is_file():
            console.print(f"{name + ':':<12}{path}")


def _job(data: Path, out: Path, config: RunConfig, budget: str, only: str | None, resume: bool):
    seconds = parse_duration(budget)
    parts = tuple(p.strip() for p in only.split(",")) if only is not None else PARTS
    with command_log(out, "run"), RichReporter(console, seconds) as reporter:
        return job.run(data, out, config, seconds, parts, resume, reporter)


@app.command()
@with_training_options
def run(
    data: DataArg,
    config: RunConfig,
    out: OutOption = Path("runs/run"),
    budget: Budget = "45m",
    only: Only = None,
    resume: Resume = False,
) -> None:
    """The whole assignment in one budgeted job, report and notebook included.

    Trains both models and their from-scratch baselines, predicts the test split, writes
    and scores submission.csv, runs the attack suite, writes report.html and report.ipynb."""
    _finish(*_job(data, out, config, budget, only, resume))


@app.command()
@with_training_options
def train(
    data: DataArg,
    config: RunConfig,
    out: OutOption = Path("runs/run"),
    model: Annotated[list[str] | None, typer.Option(help="classifier and/or segmenter.")] = None,
    resume: Resume = False,
) -> None:
    """Train the classifier and/or the segmenter into OUT/<model>/ (by default both, or the
    classifier alone on data without masks)."""
    models = tuple(model or (MODEL_NAMES if has_masks(data) else ("classifier",)))
    with command_log(out, "train"):
        trained = api.train(data, out, config, models, resume, progress=state["verbose"])
    for name in trained.folder.trained_models(trained.info):
        console.print(f"{name}: {trained.folder.model(name).weights}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Demo folder (data/ and run/ inside).")] = Path("demo"),
    images: Annotated[int, typer.Option(help="Synthetic training images.", min=8)] = 160,
    epochs: Annotated[int, typer.Option(help="Epochs for each model.", min=1)] = 8,
    pretrained: Annotated[str, typer.Option(help="package | hub | none | PATH.")] = "package",
    budget: Budget = "4m",
) -> None:
    """Generate the built-in synthetic dataset and run the whole job on it."""
    data = out / "data"
    write_synthetic_dataset(data, images, max(8, images // 4))
    config = RunConfig()
    for task in (config.classifier, config.segmenter):
        task.epochs, task.pretrained, task.image_size = epochs, pretrained, 128
    _finish(*_job(data, out / "run", config, budget, None, False))


@app.command()
def predict(
    run_dir: RunArg,
    data: Annotated[
        Path | None,
        typer.Option(help="Data folder (default: the run's), or a plain folder of images."),
    ] = None,
    split: Annotated[str, typer.Option(help="test | val | train | a split of DATA.")] = "test",
    compile_model: Annotated[
        bool,
        typer.Option(
            "--compile/--no-compile",
            help="torch.compile the models: about 2x faster on a CPU after a one-off "
            "compilation (minutes the first time, seconds once cached); pays on large splits.",
        ),
    ] = False,
    tta: Annotated[
        bool,
        typer.Option(
            "--tta/--no-tta",
            help="The run's test-time augmentation (default; segmenter: flip + 3 scales), or "
            "one view per model: about 6x faster segmentation, slightly lower scores "
            "(a run's dense CRF still applies).",
        ),
    ] = True,
    masks_dir: Annotated[
        Path | None,
        typer.Option(help="Also write each mask as DIR/<id>.png in the dataset's values/palette."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="torch | onnxruntime (the exported models; exports if needed).")
    ] = "torch",
) -> None:
    """Predict a split; writes RUN_DIR/predictions/<split>.npz."""
    loaded = api.Run.load(run_dir)
    predictions = loaded.predict(
        split=split,
        data=data,
        tta=tta,
        compile_model=compile_model,
        engine=engine,
        masks_dir=masks_dir,
    )
    if masks_dir is not None:
        console.print(f"masks: {len(predictions)} PNGs in {masks_dir}")
    path = loaded.predictions_path(split, data)
    console.print(f"predictions: {path} ({len(predictions)} images)")


@app.command()
def submit(
    run_dir: RunArg,
    split: Annotated[str, typer.Option(help="Predicted split.")] = "test",
    threshold: Annotated[
        float | None, typer.Option(help="Label score threshold, 0..1 (default: the run's).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="CSV path (default RUN/submission.csv).")] = None,
) -> None:
    """Write submission.csv (Kaggle format) from saved predictions, validated first; score it
    when the test answers are known, and bring an existing report up to date."""
    loaded = api.Run.load(run_dir)
    submission = loaded.submit(split, threshold, out)
    console.print(f"submission: {submission.path}")
    if submission.truth is not None and submission.on_score is not None:
        print_score(submission.score())
    if loaded.folder.layout.report.is_file() and (threshold is not None or submission.on_score):
        with command_log(run_dir, "report"):
            console.print(f"report: {loaded.report()} (updated)")


@app.command()
def report(run_dir: RunArg) -> None:
    """Evaluate the run and (re)write RUN_DIR/report.html and report.ipynb."""
    with command_log(run_dir, "report"):
        path = api.Run.load(run_dir).report()
    console.print(f"report: {path}")


@app.command()
def notebook(run_dir: RunArg) -> None:
    """Write RUN_DIR/report.ipynb: the report's sections with code cells that redo each step."""
    with command_log(run_dir, "notebook"):
        path = api.Run.load(run_dir).notebook()
    console.print(f"notebook: {path}")


@app.command()
def export(
    run_dir: RunArg,
    export_format: Annotated[str, typer.Option("--format", help="onnx (the one format).")] = "onnx",
    out: Annotated[Path | None, typer.Option(help="Folder (default RUN/export).")] = None,
) -> None:
    """Export the run's models as ONNX, with export.json beside them.

    Opset 18, dynamic batch/height/width, the normalisation and the probe's heads inside;
    export.json holds the classes, labelling rule and TTA/CRF settings."""
    if export_format != "onnx":
        raise typer.BadParameter(f"'{export_format}': the one export format is onnx")
    with command_log(run_dir, "export"):
        folder = api.Run.load(run_dir).export(out)
    console.print(f"exported: {folder}")


@app.command(name="app")
def web_app(
    run_dir: RunArg,
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 7860,
    host: Annotated[
        str, typer.Option(help="Interface: 127.0.0.1 (this machine only) or 0.0.0.0 (all).")
    ] = "127.0.0.1",
) -> None:
    """A web app over the run: upload an image, see its labels, mask and areas; attack it."""
    from ..app import serve  # gradio is an optional extra (vocvision[app])

    console.print(f"vocvision app on http://{host}:{port} (Ctrl+C stops it)")
    serve(api.Run.load(run_dir), port, host)

"""`vocvision` command line: a thin typer layer over `vocvision.pipeline` and friends."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from .launcher import configure_threads, reexec_with_malloc_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Train, predict, submit, score and report on a small labelled image set.",
)
console = Console()

# Training options default to None: only the ones given override the config (file or defaults).
Epochs = Annotated[int | None, typer.Option(help="Epochs for both models (default: per model).")]
Backbone = Annotated[
    str | None, typer.Option(help="timm backbone, e.g. tf_efficientnet_lite0/1/2.")
]
Pretrained = Annotated[
    str | None, typer.Option(help="package (offline wheels) | hub | none | PATH.")
]
Arch = Annotated[
    str | None,
    typer.Option(help="Segmenter decoder: auto (by the labels) | fpn | unet | deeplabv3plus."),
]
Method = Annotated[
    str | None,
    typer.Option(help="Classifier: probe (frozen features, K-fold heads, fast) | finetune."),
]
Loss = Annotated[str | None, typer.Option(help="Classifier loss: bce | weighted_bce | asl.")]
Seed = Annotated[int | None, typer.Option(help="Seed for splits, initialisation, augmentation.")]
Accelerator = Annotated[str | None, typer.Option(help="cpu | gpu | auto.")]
Devices = Annotated[str | None, typer.Option(help="Number of devices (several GPUs: DDP).")]
Precision = Annotated[str | None, typer.Option(help="32-true | bf16-mixed | 16-mixed.")]
ConfigFile = Annotated[Path | None, typer.Option(help="run_config.json to start from.")]
Settings = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Any setting of vocvision.config, KEY=VALUE (JSON), repeatable: "
        "--set segmenter.loss=focal+dice --set segmenter.tta_scales=[1]",
    ),
]


def _config(
    config_file: Path | None,
    epochs=None,
    backbone=None,
    pretrained=None,
    arch=None,
    method=None,
    loss=None,
    settings=None,
    **run_options,
):
    """The run configuration: `config_file` (or the defaults) with the options given, then
    the `--set` settings."""
    from .config import RunConfig

    config = RunConfig.load(config_file) if config_file else RunConfig()
    for task in (config.classifier, config.segmenter):
        for name, value in (("epochs", epochs), ("backbone", backbone), ("pretrained", pretrained)):
            if value is not None:
                setattr(task, name, value)
    if arch is not None:
        config.segmenter.arch = arch
    if method is not None:
        config.classifier.method = method
    if loss is not None:
        config.classifier.loss = loss
    for name, value in run_options.items():
        if value is not None:
            setattr(config, name, value)
    for setting in settings or ():
        config.set(setting)
    return config


def _print_score(score) -> None:
    table = Table("score", "mean Dice")
    for name, value in score.as_dict().items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)


@app.command()
def run(
    data: Annotated[Path, typer.Argument(help="Kaggle, VOC or COCO-layout data folder.")],
    out: Annotated[Path, typer.Option(help="Run folder.")] = Path("runs/run"),
    epochs: Epochs = None,
    backbone: Backbone = None,
    pretrained: Pretrained = None,
    arch: Arch = None,
    method: Method = None,
    loss: Loss = None,
    seed: Seed = None,
    config_file: ConfigFile = None,
    accelerator: Accelerator = None,
    devices: Devices = None,
    precision: Precision = None,
    settings: Settings = None,
    resume: Annotated[bool, typer.Option(help="Continue from last.ckpt.")] = False,
) -> None:
    """Train both models, predict the test split, write submission.csv, score it, report."""
    from .pipeline import run as run_pipeline

    config = _config(
        config_file,
        epochs,
        backbone,
        pretrained,
        arch,
        method,
        loss,
        settings,
        seed=seed,
        accelerator=accelerator,
        devices=devices,
        precision=precision,
    )
    result = run_pipeline(data, out, config, resume=resume)
    if result.score:
        _print_score(result.score)
    console.print(f"submission: {result.submission}\nreport:     {result.report}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Demo folder (data/ and run/ inside).")] = Path("demo"),
    images: Annotated[int, typer.Option(help="Synthetic training images.")] = 160,
    epochs: Annotated[int, typer.Option(help="Epochs for each model.")] = 8,
    pretrained: Annotated[str, typer.Option(help="package | hub | none | PATH.")] = "package",
) -> None:
    """Generate the built-in synthetic dataset and run the whole job on it."""
    from .config import RunConfig
    from .data import write_synthetic_dataset
    from .pipeline import run as run_pipeline

    data = out / "data"
    write_synthetic_dataset(data, images, max(8, images // 4))
    config = RunConfig()
    for task in (config.classifier, config.segmenter):
        task.epochs, task.pretrained, task.image_size = epochs, pretrained, 128
    result = run_pipeline(data, out / "run", config)
    _print_score(result.score)
    console.print(f"submission: {result.submission}\nreport:     {result.report}")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Kaggle, VOC or COCO-layout data folder.")],
    out: Annotated[Path, typer.Option(help="Run folder.")] = Path("runs/run"),
    model: Annotated[list[str] | None, typer.Option(help="classifier and/or segmenter.")] = None,
    epochs: Epochs = None,
    backbone: Backbone = None,
    pretrained: Pretrained = None,
    arch: Arch = None,
    method: Method = None,
    loss: Loss = None,
    seed: Seed = None,
    config_file: ConfigFile = None,
    accelerator: Accelerator = None,
    devices: Devices = None,
    precision: Precision = None,
    max_train_images: Annotated[int | None, typer.Option(help="Use only the first N.")] = None,
    settings: Settings = None,
    resume: Annotated[bool, typer.Option(help="Continue from last.ckpt.")] = False,
) -> None:
    """Train the classifier and/or the segmenter; checkpoints go to OUT/<model>/checkpoints."""
    from .pipeline import MODELS
    from .pipeline import train as train_models

    config = _config(
        config_file,
        epochs,
        backbone,
        pretrained,
        arch,
        method,
        loss,
        settings,
        seed=seed,
        accelerator=accelerator,
        devices=devices,
        precision=precision,
        max_train_images=max_train_images,
    )
    for kind, path in train_models(data, out, config, tuple(model or MODELS), resume).items():
        console.print(f"{kind}: {path}")


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="Run folder from `train`.")],
    data: Annotated[Path | None, typer.Option(help="Data folder (default: the run's).")] = None,
    split: Annotated[
        str | None, typer.Option(help="Split (default: the run's test split).")
    ] = None,
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
) -> None:
    """Predict a split; writes RUN_DIR/predictions/<split>.npz."""
    from .pipeline import predict_split

    path = predict_split(run_dir, data, split, compile_model=compile_model, tta=tta)
    console.print(f"predictions: {path}")


@app.command()
def submit(
    run_dir: Annotated[Path, typer.Argument(help="Run folder with predictions.")],
    split: Annotated[str | None, typer.Option(help="Predicted split (default: test).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Class probability threshold.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV path (default RUN_DIR/submission.csv).")
    ] = None,
) -> None:
    """Write submission.csv (Kaggle format) from saved predictions, validated."""
    from .pipeline import Predictions, labelling, read_run_info
    from .pipeline import submit as write

    split = split or read_run_info(run_dir)["test_split"]
    predictions = Predictions.load(run_dir / "predictions" / f"{split}.npz")
    rule = labelling(run_dir)
    chosen = rule["threshold"] if threshold is None else threshold
    path = write(predictions, out or run_dir / "submission.csv", chosen, rule["at_least_one"])
    console.print(f"submission: {path}")


@app.command()
def score(
    submission: Annotated[Path, typer.Argument(help="submission.csv to score.")],
    truth: Annotated[Path, typer.Option(help="solution.csv, or a truth/ folder holding it.")],
) -> None:
    """Mean Dice of a submission against the truth: overall and each half."""
    from .submission import score_submission

    _print_score(score_submission(submission, truth))


@app.command()
def validate(
    submission: Annotated[Path, typer.Argument(help="submission.csv to check.")],
    data: Annotated[Path, typer.Option(help="Kaggle-layout folder whose test/ it predicts.")],
) -> None:
    """Check ids, RLE syntax and that every run lies inside its array."""
    from .data import read_kaggle
    from .submission import validate_submission

    test = read_kaggle(data, "test")
    sizes = {
        s.id: (test.num_classes, test.num_classes * s.image.shape[0] * s.image.shape[1])
        for s in test.samples
    }
    problems = validate_submission(submission, test.ids, sizes)
    for problem in problems:
        console.print(f"[red]{problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"{submission}: valid ({len(test)} images)")


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Kaggle, VOC or COCO-layout folder.")],
    out: Annotated[Path, typer.Argument(help="Folder for the other layout.")],
    train_split: Annotated[str, typer.Option(help="VOC split that becomes train/.")] = "train",
    test_split: Annotated[str, typer.Option(help="VOC split that becomes test/ + truth/.")] = "val",
    categories: Annotated[
        str | None, typer.Option(help="COCO: comma-separated categories to keep.")
    ] = None,
    binary: Annotated[
        str | None, typer.Option(help="COCO: one category against the rest (binary masks).")
    ] = None,
) -> None:
    """VOC -> Kaggle (test labels hidden, truth/ kept aside), Kaggle -> VOC, or COCO
    (polygons, crowd RLE) -> VOC semantic masks."""
    from .data import convert as convert_layout

    subset = categories.split(",") if categories else None
    written = convert_layout(source, out, train_split, test_split, subset, binary)
    console.print(f"wrote a {written} layout to {out}")


@app.command()
def synthesize(
    out: Annotated[Path, typer.Argument(help="Folder for a Kaggle-layout synthetic dataset.")],
    train_images: int = 160,
    test_images: int = 40,
    seed: Seed = 0,
) -> None:
    """Write the built-in synthetic dataset (train/, test/, truth/)."""
    from .data import write_synthetic_dataset

    write_synthetic_dataset(out, train_images, test_images, seed)
    console.print(f"wrote {train_images} train and {test_images} test images to {out}")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="Run folder.")]) -> None:
    """(Re)write RUN_DIR/report.html."""
    from .report import write_report

    console.print(f"report: {write_report(run_dir)}")


@app.command()
def study(
    data: Annotated[Path, typer.Argument(help="Data folder with a labelled test split.")],
    out: Annotated[
        Path, typer.Option(help="Study folder; RUN_DIR/study puts it in that run's report.")
    ] = Path("runs/study"),
    holdout: Annotated[
        bool, typer.Option(help="Train each variant on train, score on test (minutes).")
    ] = True,
    cv_split: Annotated[
        str | None, typer.Option(help="Also K-fold the frozen probe on this split (seconds).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Folds of the cross-validation.")] = 5,
    segmenter_run: Annotated[
        Path | None, typer.Option(help="Run folder whose segmenter feeds the fusion variant.")
    ] = None,
    seed: Seed = None,
) -> None:
    """Classification ablations (scratch, probe, fine-tune, losses, thresholds, TTA, fusion)."""
    import json

    from . import study as ablations

    if holdout:
        ablations.holdout_study(data, out, seed=seed or 0, segmenter_run=segmenter_run)
    if cv_split:
        ablations.cross_validation_study(data, cv_split, out, folds, seed or 0)
    results = out / ablations.STUDY_FILE
    for line in ablations.discussion(json.loads(results.read_text())):
        console.print(f"- {line}")
    console.print(f"results: {results}")


@app.command()
def attack(
    run_dir: Annotated[Path, typer.Argument(help="Trained run folder.")],
    data: Annotated[Path, typer.Argument(help="Data folder with a labelled split to attack.")],
    split: Annotated[str, typer.Option(help="Split to attack (needs masks and labels).")] = "val",
    train_split: Annotated[
        str, typer.Option(help="Split the universal perturbation and generator learn on.")
    ] = "train",
    eps: Annotated[float, typer.Option(help="L-inf budget in 1/255 steps.")] = 4,
    steps: Annotated[int, typer.Option(help="PGD steps.")] = 10,
    targeted_steps: Annotated[int, typer.Option(help="Targeted PGD steps.")] = 20,
    images: Annotated[int | None, typer.Option(help="Attack only the first N images.")] = 32,
    universal: Annotated[
        float | None, typer.Option(help="Also learn a universal perturbation at this eps/255.")
    ] = None,
    generator: Annotated[
        float | None, typer.Option(help="Also train a perturbation generator at this eps/255.")
    ] = None,
    generator_epochs: Annotated[
        int | None,
        typer.Option(
            help="Generator training epochs (default: robustness.GENERATOR_SETTINGS, "
            "per model kind)."
        ),
    ] = None,
    defences: Annotated[
        bool, typer.Option(help="Also JPEG/blur (adaptive too) and adversarial fine-tuning.")
    ] = False,
    model: Annotated[
        list[str] | None, typer.Option(help="classifier and/or segmenter (default both).")
    ] = None,
) -> None:
    """Attack a run's models: noise, FGSM, PGD, targeted PGD, transfer, curves (and more).

    Writes RUN_DIR/attacks/results.json, figures and the PGD images, and the report."""
    from . import robustness
    from .report import write_report

    results = robustness.attack_run(
        run_dir,
        data,
        split,
        train_split,
        eps=eps / 255,
        steps=steps,
        targeted_steps=targeted_steps,
        max_images=images,
        universal_eps=universal / 255 if universal else None,
        generator_eps=generator / 255 if generator else None,
        generator_epochs=generator_epochs,
        defences=defences,
        models=tuple(model or ("classifier", "segmenter")),
    )
    table = Table(title=f"Attacks on {results['images']} {split} images")
    columns = ("model", "attack", "metric", "clean", "attacked", "ratio", "fooled", "success")
    for column in (*columns, "PSNR", "SSIM", "s/img"):
        table.add_column(column, justify="right")
    for r in results["rows"]:
        table.add_row(
            r["model"],
            r["attack"],
            r["metric"],
            f"{r['clean']:.3f}",
            f"{r['adversarial']:.3f}",
            f"{r['ratio']:.3f}",
            f"{r['fooling_rate']:.2f}",
            "-" if r["success"] is None else f"{r['success']:.2f}",
            f"{r['psnr']:.1f}",
            f"{r['ssim']:.3f}",
            f"{r['seconds_per_image']:.2f}",
        )
    console.print(table)
    console.print(f"report: {write_report(run_dir)}")


def main() -> None:
    reexec_with_malloc_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console)]
    )
    configure_threads()
    from .config import ConfigError
    from .data import DataError
    from .models import PretrainedWeightsError
    from .submission import ScoreError

    try:
        app()
    except (ConfigError, DataError, PretrainedWeightsError, ScoreError, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise SystemExit(2) from None

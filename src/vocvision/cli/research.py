"""Research commands: the classification study and the attack suite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .. import api
from ..layout import MODEL_NAMES
from ..report import findings
from ..runfolder import RunFolder
from ..workflow.robustness import GENERATOR_SETTINGS
from .console import app, console


@app.command()
def study(
    data: Annotated[Path, typer.Argument(help="Data folder with a labelled test split.")],
    out: Annotated[
        Path, typer.Option(help="Run folder whose study/ holds it (and whose report shows it).")
    ] = Path("runs/study"),
    holdout: Annotated[
        bool, typer.Option(help="Train each variant on train, score on test (minutes).")
    ] = True,
    cv_split: Annotated[
        str | None, typer.Option(help="Also K-fold the frozen probe on this split (seconds).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Folds of the cross-validation.", min=2)] = 5,
    segmenter_run: Annotated[
        Path | None, typer.Option(help="Run folder whose segmenter feeds the fusion variant.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits and training.", min=0)] = 0,
) -> None:
    """Classification ablations (scratch, probe, fine-tune, losses, thresholds, TTA, fusion)."""
    sections = api.study(data, out, holdout, cv_split, folds, segmenter_run, seed)
    for line in findings.study_findings(sections):
        console.print(f"- {line}")
    console.print(f"results: {RunFolder(out).layout.study}")


@app.command()
def attack(
    run_dir: Annotated[Path, typer.Argument(help="Trained run folder.")],
    data: Annotated[Path | None, typer.Option(help="Data folder (default: the run's).")] = None,
    split: Annotated[
        str, typer.Option(help="Labelled split: val (the run's validation part) | test | ...")
    ] = "val",
    eps: Annotated[float, typer.Option(help="L-inf budget in 1/255 steps.", min=0, max=255)] = 4,
    steps: Annotated[int, typer.Option(help="PGD steps.", min=1)] = 10,
    targeted_steps: Annotated[int, typer.Option(help="Targeted PGD steps.", min=1)] = 20,
    images: Annotated[int | None, typer.Option(help="Attack only the first N.", min=1)] = 32,
    universal: Annotated[
        float | None,
        typer.Option(help="Also learn a universal perturbation at this eps/255.", min=0, max=255),
    ] = None,
    generator: Annotated[
        float | None,
        typer.Option(help="Also train a perturbation generator at this eps/255.", min=0, max=255),
    ] = None,
    generator_epochs: Annotated[
        int | None,
        typer.Option(
            help=f"Generator training epochs (default per model: {GENERATOR_SETTINGS}).", min=1
        ),
    ] = None,
    goal: Annotated[
        str | None,
        typer.Option(
            help="The generator's goal, a class name: the classifier adds it, the segmenter "
            "paints every pixel with it (default: the rarest class; background)."
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
    loaded = api.Run.load(run_dir)
    results = loaded.attack(
        split,
        eps / 255,
        data,
        steps=steps,
        targeted_steps=targeted_steps,
        max_images=images,
        universal_eps=universal / 255 if universal else None,
        generator_eps=generator / 255 if generator else None,
        generator_epochs=generator_epochs,
        goal=goal,
        defences=defences,
        models=tuple(model or MODEL_NAMES),
    )
    console.print(attack_table(results, split))
    console.print(f"report: {loaded.report()}")


def attack_table(results, split: str) -> Table:
    """The attack rows as a console table."""
    table = Table(title=f"Attacks on {results.images} {split} images")
    columns = ("model", "attack", "metric", "clean", "attacked", "ratio", "fooled", "success")
    for column in (*columns, "PSNR", "SSIM", "s/img"):
        table.add_column(column, justify="right")
    for r in results.rows:
        success = "-" if r.success is None else f"{r.success:.2f}"
        table.add_row(
            r.model,
            r.name,
            r.metric,
            f"{r.clean:.3f}",
            f"{r.adversarial:.3f}",
            f"{r.ratio:.3f}",
            f"{r.fooling_rate:.2f}",
            success,
            f"{r.psnr:.1f}",
            f"{r.ssim:.3f}",
            f"{r.seconds_per_image:.2f}",
        )
    return table

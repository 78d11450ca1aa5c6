"""Commands that need no run: score, validate, convert, synthesize, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import RunConfig
from ..data import convert as convert_layout
from ..data import read_kaggle, write_synthetic_dataset
from ..data.convert import TARGETS
from ..submission import score_submission, validate_submission
from .console import app, console, print_score


@app.command()
def score(
    submission: Annotated[Path, typer.Argument(help="submission.csv to score.")],
    truth: Annotated[Path, typer.Option(help="solution.csv, or a truth/ folder holding it.")],
) -> None:
    """Mean Dice of a submission against the truth: overall and each half."""
    print_score(score_submission(submission, truth))


@app.command()
def validate(
    submission: Annotated[Path, typer.Argument(help="submission.csv to check.")],
    data: Annotated[Path, typer.Option(help="Kaggle-layout folder whose test/ it predicts.")],
) -> None:
    """Check ids, RLE syntax and that every run lies inside its array."""
    test = read_kaggle(data, "test")
    k = test.num_classes
    sizes = {s.id: (k, k * s.image.shape[0] * s.image.shape[1]) for s in test.samples}
    problems = validate_submission(submission, test.ids, sizes)
    for problem in problems:
        console.print(f"[red]{problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"{submission}: valid ({len(test)} images)")


@app.command()
def convert(
    source: Annotated[
        Path, typer.Argument(help="Kaggle, VOC, COCO, images + masks or labels.csv folder.")
    ],
    out: Annotated[Path, typer.Argument(help="New folder for the converted dataset.")],
    train_split: Annotated[str, typer.Option(help="VOC split that becomes train/.")] = "train",
    test_split: Annotated[str, typer.Option(help="VOC split that becomes test/ + truth/.")] = "val",
    categories: Annotated[
        str | None, typer.Option(help="COCO: comma-separated categories to keep.")
    ] = None,
    binary: Annotated[
        str | None, typer.Option(help="COCO: one category against the rest (binary masks).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            help=f"Layout to write: {', '.join(TARGETS)} (default: VOC <-> Kaggle; COCO and "
            "images + masks -> VOC; labels.csv -> Kaggle)."
        ),
    ] = None,
) -> None:
    """Convert a dataset to another layout: VOC -> Kaggle (test labels hidden, truth/ kept
    aside), Kaggle -> VOC, COCO (polygons, crowd RLE) -> VOC semantic masks, and any of them
    to or from images + masks (`--to folders`) or images + labels.csv (`--to labels-csv`)."""
    subset = categories.split(",") if categories else None
    written = convert_layout(source, out, train_split, test_split, subset, binary, to)
    console.print(f"wrote a {written} layout to {out}")


@app.command()
def synthesize(
    out: Annotated[Path, typer.Argument(help="Folder for a Kaggle-layout synthetic dataset.")],
    train_images: int = 160,
    test_images: int = 40,
    seed: int = 0,
) -> None:
    """Write the built-in synthetic dataset (train/, test/, truth/)."""
    write_synthetic_dataset(out, train_images, test_images, seed)
    console.print(f"wrote {train_images} train and {test_images} test images to {out}")


@app.command()
def settings() -> None:
    """List every run setting (for --set KEY=VALUE and --config-file): default, allowed
    values and what it does."""
    table = Table("setting", "default", "allowed", "what it does", show_lines=False)
    for row in RunConfig.settings_table():
        table.add_row(*row)
    console.print(table)

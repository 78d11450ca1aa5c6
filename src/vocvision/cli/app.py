"""The typer application, its console and what every command shares."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from ..errors import VocvisionError
from ..launcher import configure_threads, reexec_with_malloc_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Train, predict, submit, score, attack and report on a small labelled image set.",
)
console = Console()


def print_score(score) -> None:
    """The Kaggle mean Dice and its halves as a table."""
    table = Table("score", "mean Dice")
    for name, value in score.as_dict().items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)


def main() -> None:
    reexec_with_malloc_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console)]
    )
    configure_threads()
    try:
        app()
    except VocvisionError as err:
        console.print(f"[red]error:[/red] {err}")
        raise SystemExit(2) from None

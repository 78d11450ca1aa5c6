"""The typer application, its console and what every command shares: `--verbose`, the
progress display, the log file in the run folder, the one-line errors."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from ..errors import VocvisionError
from ..launcher import configure_threads, logging_to, quiet, reexec_with_malloc_settings
from ..layout import RunLayout
from ..training import is_worker_process

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Train, predict, submit, score, attack and report on a small labelled image set.",
)
console = Console()
state = {"verbose": False}


@app.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show Lightning's progress bars, logs and warnings.")
    ] = False,
) -> None:
    """Train, predict, submit, score, attack and report on a small labelled image set."""
    state["verbose"] = verbose
    quiet(verbose)
    for handler in logging.getLogger().handlers:  # the console: warnings only, unless verbose
        if isinstance(handler, RichHandler):
            handler.setLevel(logging.INFO if verbose else logging.WARNING)


def print_score(score) -> None:
    """The Kaggle mean Dice and its halves as a table."""
    table = Table("score", "mean Dice")
    for name, value in score.as_dict().items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)


@contextmanager
def command_log(run_dir: Path, command: str) -> Iterator[Path]:
    """While a command runs, its log also goes to RUN/logs/<command>-<time>.log. A command
    that fails having written nothing but that log, into a logs/ folder it created, takes
    both away again: a command refused on a new folder, or on a data folder, leaves nothing
    behind, while a failed run keeps its log beside what it wrote."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RunLayout(run_dir).logs
    before = _entries(run_dir)
    created = [folder for folder in (run_dir, logs) if not folder.exists()]
    try:
        with logging_to(logs / f"{command}-{stamp}.log") as path:
            yield path
    except BaseException:
        if logs in created and _entries(run_dir) <= before | {logs.name}:
            shutil.rmtree(logs, ignore_errors=True)
            if run_dir in created and run_dir.is_dir() and not _entries(run_dir):
                run_dir.rmdir()
        raise


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def main() -> None:
    reexec_with_malloc_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console)]
    )
    configure_threads()
    if is_worker_process():  # a DDP worker re-running the command: the main process reports
        console.quiet = True
        logging.getLogger().setLevel(logging.ERROR)
    try:
        app()
    except (VocvisionError, OSError) as err:
        message = f"[red]error:[/red] {escape(printable(one_line(err)))}"
        console.print(message, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


def one_line(err: Exception) -> str:
    """The error as one line naming the file: ours already do; an OSError (permission
    denied, read-only file system, disk full) as 'FILE: reason'."""
    if isinstance(err, OSError) and not isinstance(err, VocvisionError) and err.strerror:
        where = err.filename if err.filename is not None else "a file"
        return f"{where}: {err.strerror}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def printable(text: str) -> str:
    """`text` with what the terminal cannot show escaped (a path that is not UTF-8 holds
    surrogate characters), so the message itself never fails."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

"""The one progress display of `vocvision run`: the budget as a bar, the stage and what it is
doing, the time used and the time left; a line per finished stage."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..runfolder import JobStage


class RichReporter:
    """A `job.budget.Reporter` drawn with rich; use it as a context manager."""

    def __init__(self, console: Console, budget_s: float) -> None:
        self.budget_s, self.started = budget_s, time.perf_counter()
        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]:<10}"),
            BarColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            TextColumn("of {task.fields[budget]} budget"),
            console=console,
        )
        minutes = f"{budget_s / 60:.0f} min"
        self.task = self.progress.add_task("", total=budget_s, stage="", budget=minutes)

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def start(self, stage: str, allotted_s: float, budget_left_s: float) -> None:
        self.progress.update(
            self.task,
            stage=stage,
            description=f"share {allotted_s:.0f} s",
            completed=self._elapsed(),
        )

    def update(self, text: str) -> None:
        self.progress.update(self.task, description=text, completed=self._elapsed())

    def finish(self, stage: JobStage) -> None:
        mark = {"done": "[green]done[/green]", "skipped": "[yellow]skipped[/yellow]"}.get(
            stage.status, stage.status
        )
        self.progress.console.print(
            f"{stage.name:<10} {mark} in {stage.seconds:.0f} s (share {stage.allotted_s:.0f} s)"
            f"{': ' + stage.note if stage.note else ''}"
        )
        self.progress.update(self.task, completed=self._elapsed())

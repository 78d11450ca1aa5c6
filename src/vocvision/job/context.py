"""What the stages of `vocvision run` share: the inputs, the clock, and the `Run` that the
stages after training act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..api import Run
from ..config import RunConfig
from ..runfolder import RunFolder, RunInfo
from ..submission import Score
from .schedule import Budget, Reporter


@dataclass
class JobContext:
    """The job's inputs and clock, the run's description once trained (`info`), and the
    score of submission.csv when the test answers are known."""

    data_dir: Path
    folder: RunFolder
    config: RunConfig
    budget: Budget
    reporter: Reporter
    resume: bool = False
    info: RunInfo | None = None
    score: Score | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    _run: Run | None = None

    @property
    def run(self) -> Run:
        """The trained run, made once after training: its models load once for every later
        stage (labelling, baselines' evaluation, predict, attack, report)."""
        if self._run is None or self._run.info is not self.info:
            self._run = Run(self.folder, self.info)
        return self._run

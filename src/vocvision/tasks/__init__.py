"""Task objects: what the classifier and the segmenter are for (see `task.Task`)."""

from __future__ import annotations

from ..config import RunConfig
from ..inference import LabellingRule
from .classification import ClassificationTask
from .segmentation import SegmentationTask
from .task import AttackGoal, Task

TASKS: dict[str, type[Task]] = {"classifier": ClassificationTask, "segmenter": SegmentationTask}


def build_task(
    name: str,
    classes: list[str],
    config: RunConfig,
    has_background: bool = True,
    rule: LabellingRule | None = None,
) -> Task:
    """The `name` task ("classifier" or "segmenter") over `classes` with its section of the
    settled `config` (and, for the classifier, the labelling `rule`)."""
    section = config.task(name)  # refuses an unknown name
    extra = {"rule": rule} if TASKS[name] is ClassificationTask else {}
    return TASKS[name](classes, section, has_background, **extra)


__all__ = ["TASKS", "AttackGoal", "ClassificationTask", "SegmentationTask", "Task", "build_task"]

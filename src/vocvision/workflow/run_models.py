"""A run's trained models, each with the task object that says how to use it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from ..errors import RunFolderError
from ..inference import LabellingRule
from ..models import load_pretrained
from ..runfolder import RunFolder, RunInfo
from ..tasks import ClassificationTask, SegmentationTask, Task, build_task


@dataclass
class TrainedModel:
    """A model in eval mode on the CPU and its task."""

    task: Task
    model: nn.Module


@dataclass
class TrainedModels:
    """The run's trained models (the classifier, the segmenter, or both)."""

    classifier: TrainedModel | None = None
    segmenter: TrainedModel | None = None

    def items(self) -> list[tuple[str, TrainedModel]]:
        pairs = (("classifier", self.classifier), ("segmenter", self.segmenter))
        return [(name, m) for name, m in pairs if m is not None]

    def __contains__(self, name: str) -> bool:
        return getattr(self, name, None) is not None

    def __getitem__(self, name: str) -> TrainedModel:
        found = getattr(self, name, None)
        if found is None:
            raise KeyError(name)
        return found

    @property
    def classification(self) -> ClassificationTask | None:
        return self.classifier.task if self.classifier else None

    @property
    def segmentation(self) -> SegmentationTask | None:
        return self.segmenter.task if self.segmenter else None


def make_task(info: RunInfo, name: str, rule: LabellingRule | None = None) -> Task:
    """The run's `name` task with its settled configuration."""
    return build_task(name, info.classes, info.config, info.has_background, rule)


def with_rule(models: TrainedModels, info: RunInfo, rule: LabellingRule) -> TrainedModels:
    """`models` whose classifier labels by `rule` (a new task; the old one is not changed)."""
    if models.classifier is None:
        return models
    task = make_task(info, "classifier", rule)
    return replace(models, classifier=replace(models.classifier, task=task))


def load_models(folder: RunFolder, info: RunInfo) -> TrainedModels:
    """Every model the run has weights for, loaded from its safetensors file (never from a
    pickled checkpoint); the classifier's task carries the run's labelling rule."""
    names = folder.trained_models(info)
    if not names:
        raise RunFolderError(
            f"{folder.root}: no trained model (expected classifier/ or segmenter/ with "
            "model.safetensors): train first"
        )
    # labelling.json, the rule's one source of truth (None before one was chosen: the
    # classifier task then labels at the configured threshold, or 0.5)
    rule = folder.read_labelling()
    loaded = {}
    for name in names:
        model, saved = load_pretrained(folder.model(name).root)
        _check_model(folder.model(name).config, saved, info)
        loaded[name] = TrainedModel(make_task(info, name, rule), model)
    return TrainedModels(**loaded)


def _check_model(path, saved: dict, info: RunInfo) -> None:
    """A model file must be the run's: its classes (names, order, count) and background."""
    classes, args = saved.get("classes"), saved["args"]
    if classes is not None and list(classes) != info.classes:
        raise RunFolderError(
            f"{path}: the model's classes {classes[:6]} ({len(classes)}) are not the run's "
            f"{info.classes[:6]} ({len(info.classes)})"
        )
    if args.get("num_classes", len(info.classes)) != len(info.classes):
        raise RunFolderError(
            f"{path}: a model of {args['num_classes']} classes in a run of {len(info.classes)}"
        )
    if args.get("background", info.has_background) != info.has_background:
        raise RunFolderError(
            f"{path}: the model was built {'with' if args['background'] else 'without'} a "
            f"background class, the run's data {'have' if info.has_background else 'have no'} one"
        )

"""Exporting a run's models as ONNX (opset 18, dynamic batch, height and width, the
normalisation inside, the probe's heads averaged inside), with a JSON of everything the
predictions need besides: classes, labelling rule, TTA and CRF settings, mask coding."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..fileio import atomic_path, write_json
from ..inference.engines import OnnxModel, OrtSettings
from ..runfolder import RunFolder, RunInfo
from .run_models import TrainedModel, TrainedModels, load_models, make_task

OPSET = 18
CONFIG_FILE = "export.json"


def export_model(model: nn.Module, path: Path, size: int, dense: bool) -> Path:
    """`model` as an ONNX file at `path` (written atomically, checked with onnx.checker):
    input "images" N x 3 x H x W in [0, 1], output "logits" (N x K, or N x C x H x W when
    `dense`), batch, height and width dynamic."""
    import onnx  # an optional extra: vocvision[onnx]

    sample = torch.rand(2, 3, size, size)
    axes = {0: "batch", 2: "height", 3: "width"}
    with atomic_path(path) as tmp, torch.no_grad():
        torch.onnx.export(
            model.eval(),
            (sample,),
            str(tmp),
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": axes, "logits": axes if dense else {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
    return path


def export_run(folder: RunFolder, info: RunInfo, models: TrainedModels, out: Path) -> Path:
    """Export every model of the run into `out` (<model>.onnx + export.json); returns `out`."""
    settings = {
        "format": 1,
        "opset": OPSET,
        "classes": info.classes,
        "has_background": info.has_background,
        "mask_coding": info.coding.to_dict(),
        "models": {},
    }
    for name, trained in models.items():
        task = trained.task
        export_model(trained.model, out / f"{name}.onnx", task.input_size, task.dense)
        settings["models"][name] = {"file": f"{name}.onnx", "config": asdict(task.config)}
    if models.classifier:
        settings["labelling"] = models.classification.rule.to_dict()
    write_json(out / CONFIG_FILE, settings)
    return out


def load_onnx_models(
    folder: RunFolder, info: RunInfo, export_dir: Path, settings: OrtSettings = OrtSettings()
) -> TrainedModels:
    """The run's models as ONNX Runtime sessions run with `settings`, with the run's tasks
    (exported first when `export_dir` lacks them)."""
    if not (export_dir / CONFIG_FILE).is_file():
        export_run(folder, info, load_models(folder, info), export_dir)
    rule = folder.read_labelling()
    loaded = {}
    for name in folder.trained_models(info):
        model = OnnxModel(export_dir / f"{name}.onnx", settings)
        loaded[name] = TrainedModel(make_task(info, name, rule), model)
    return TrainedModels(**loaded)

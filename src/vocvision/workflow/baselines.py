"""The from-scratch baselines the pretrained models are measured against: a small CNN
classifier and a U-Net segmenter, both from random weights, each trained into its own run
folder (RUN/baselines/<model>/) on the same images and split as the run."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import lightning as L

from ..config import RunConfig
from ..runfolder import RunFolder, RunInfo
from ..training import is_worker_process
from .label_choice import tune_labelling
from .run_images import read_run_split
from .run_training import train_run
from .trained import TrainedModels, load_models, with_rule

# The classifier of the study's "scratch" variant: a VGG-style CNN at 160 px, plain BCE.
SCRATCH_CLASSIFIER = {
    "method": "finetune",
    "loss": "bce",
    "tta_flip": False,
    "backbone": "vocvision_scratch_cnn",
    "pretrained": "none",
    "image_size": 160,
    "epochs": 25,
    "lr": 3e-3,
    "patience": 25,
}
# The segmenter: the run's settings (size, epochs, loss, TTA, CRF) with a U-Net whose
# encoder starts from random weights.
SCRATCH_SEGMENTER = {"arch": "unet", "pretrained": "none"}
BASELINES = {
    "classifier": ("scratch CNN classifier", SCRATCH_CLASSIFIER),
    "segmenter": ("U-Net from scratch", SCRATCH_SEGMENTER),
}


def baseline_config(config: RunConfig, name: str) -> RunConfig:
    """The run's settled `config` with the `name` model's section made a scratch baseline."""
    config = copy.deepcopy(config)
    for key, value in BASELINES[name][1].items():
        config.assign(f"{name}.{key}", value)
    return config


def train_baseline(
    folder: RunFolder,
    info: RunInfo,
    name: str,
    callbacks: Sequence[L.Callback] = (),
    progress: bool = False,
) -> TrainedModels | None:
    """Train the `name` baseline on the run's data into RUN/baselines/<name>/ (a classifier
    gets its labelling chosen like the run's); returns it loaded (None in the other
    processes of a DDP training, which only fit: the main process writes and loads)."""
    baseline = RunFolder(folder.layout.baseline(name))
    config = baseline_config(info.config, name)
    trained = train_run(
        info.data_dir, baseline.root, config, (name,), progress=progress, callbacks=callbacks
    )
    if is_worker_process():
        return None
    models = load_models(baseline, trained)
    if models.classifier:
        rule = tune_labelling(baseline, trained, models, read_run_split(trained, "val"))
        models = with_rule(models, trained, rule)
    return models

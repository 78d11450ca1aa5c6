"""The baselines the run's models are measured against, each trained into its own run folder
(RUN/baselines/<name>/) on the same images and split as the run: a small CNN classifier from
random weights, and two U-Nets with one recipe that differ only in the encoder's starting
weights (random or pretrained), so that the encoder's effect is measured alone."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import lightning as L

from ..config import RunConfig, TaskConfig
from ..runfolder import RunFolder, RunInfo
from ..training import is_worker_process, trained_epochs
from .label_choice import choose_labelling
from .run_models import TrainedModels, load_models, with_rule
from .run_splits import read_run_split
from .train_run import train_run

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


def unet_recipe(section: TaskConfig, pretrained: bool) -> dict:
    """The two U-Nets' settings over the run's segmenter `section`: a quarter of its input
    side (64 px of 256, at least 64), no progressive resizing or frozen warm-up, up to 40
    epochs at a higher learning rate, the run's loss, TTA and CRF; the encoder random unless
    `pretrained` (then the run's weights).

    From random weights a U-Net needs many epochs, so its images are small: in 200 s on one
    core (about its share of a 45-minute job on MSRC-v2) it reached validation mIoU 0.258 at
    64 px (30 epochs), 0.170 at 96 (15) and 0.126 at 128 (8); lr 1e-2 and plain CE did no
    better (docs/benchmarks.md, "The U-Net from scratch")."""
    settings = {
        "arch": "unet",
        "image_size": max(64, section.image_size // 128 * 32),
        "progressive_scale": 1.0,
        "epochs": 40,
        "lr": 3e-3,
        "patience": 40,
        "freeze_epochs": 0,  # the pair differs in the encoder's starting weights alone
    }
    return settings if pretrained else settings | {"pretrained": "none"}


@dataclass(frozen=True)
class Baseline:
    """A reference trained beside the run's `model`: `settings` gives, from the model's
    section of the run's configuration, the settings that override it; `share` is its part
    of the baselines stage's time. With `epochs_of` it trains as many epochs as that baseline
    did (at most), so that a pair differs in one thing alone, not in what its time bought:
    in a 20-minute MSRC-v2 job the U-Net from scratch fitted 17 epochs in its share and the
    one over the pretrained encoder 34 in the same share."""

    model: str
    label: str
    settings: Callable[[TaskConfig], dict]
    share: float
    epochs_of: str | None = None  # a baseline whose trained epoch count this one repeats


# In the order they train; the last one of a model is the run's model's closest reference.
BASELINES = {
    "classifier": Baseline(
        "classifier", "scratch CNN classifier", lambda _: SCRATCH_CLASSIFIER, 0.2
    ),
    "segmenter": Baseline(
        "segmenter", "U-Net from scratch", partial(unet_recipe, pretrained=False), 0.4
    ),
    "unet_pretrained": Baseline(
        "segmenter",
        "U-Net over the pretrained encoder",
        partial(unet_recipe, pretrained=True),
        0.4,
        epochs_of="segmenter",
    ),
}


def reference_baseline(found: Iterable[str], model: str) -> str | None:
    """Of the baselines `found` (names), the one the run's `model` is compared with: the
    closest to it (the U-Net over the pretrained encoder before the one from scratch)."""
    found = set(found)
    names = [name for name, b in BASELINES.items() if b.model == model and name in found]
    return names[-1] if names else None


def baseline_config(config: RunConfig, name: str) -> RunConfig:
    """The run's settled `config` with its model's section made the `name` baseline."""
    config = copy.deepcopy(config)
    baseline = BASELINES[name]
    for key, value in baseline.settings(config.task(baseline.model)).items():
        config.assign(f"{baseline.model}.{key}", value)
    return config


def trained_baseline_epochs(folder: RunFolder, name: str) -> int | None:
    """The epochs the `name` baseline of the run in `folder` trained (None: not trained)."""
    layout = RunFolder(folder.layout.baseline(name)).model(BASELINES[name].model)
    return trained_epochs(layout.metrics_csv)


def train_baseline(
    folder: RunFolder,
    info: RunInfo,
    name: str,
    callbacks: Sequence[L.Callback] = (),
    progress: bool = False,
) -> TrainedModels | None:
    """Train the `name` baseline (a key of BASELINES) on the run's data into
    RUN/baselines/<name>/ (a classifier gets its labelling chosen like the run's); returns
    it loaded (None in the other processes of a DDP training, which only fit: the main
    process writes and loads)."""
    baseline = RunFolder(folder.layout.baseline(name))
    config = baseline_config(info.config, name)
    model, epochs_of = BASELINES[name].model, BASELINES[name].epochs_of
    epochs = trained_baseline_epochs(folder, epochs_of) if epochs_of else None
    if epochs is not None:
        config.assign(f"{model}.epochs", min(epochs, config.task(model).epochs))
    trained = train_run(
        info.data_dir, baseline.root, config, (model,), progress=progress, callbacks=callbacks
    )
    if is_worker_process():
        return None
    models = load_models(baseline, trained)
    if models.classifier:
        rule = choose_labelling(baseline, trained, models, read_run_split(trained, "val"))
        models = with_rule(models, trained, rule)
    return models

"""Training throughput: images/s of one training step of the segmenter, the two scratch
baselines and the probe's feature extraction, split into data (crop, flip, jitter, batch),
forward (with the loss), backward and optimizer step; on one thread and on two.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \\
      .venv/bin/python benchmarks/train_speed.py --data ../shared/data/msrc21

Then the segmenter's levers, each a row of the same table measured in the same process:
bf16 autocast, channels_last, both, the encoder frozen (the warm-up of `freeze_epochs`) and
smaller crops (progressive resizing's first stage). Every setting runs `--batches` steps after
one warm-up step; the median step is printed. A second table weighs the measured rows by the
default schedule's epochs (`EpochSchedule`: which epochs train frozen, on small crops, on
full ones) into the segmenter's images/s over a whole training, against float32 at 256 px
throughout. Run it alone: another CPU-heavy job on the same cores makes every number
meaningless.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from common import SHARED_DATA, has_voc_data
from rich.console import Console
from rich.table import Table

from vocvision.config import RunConfig
from vocvision.data import read_split
from vocvision.tasks import build_task
from vocvision.training.loaders import EpochSchedule, ImageSetDataModule
from vocvision.workflow.baselines import baseline_config

PARTS = ("data", "forward", "backward", "step")
FPN = "segmenter (FPN)"
SMALL, SMALL_FROZEN = "bf16 + cl, progressive crops", "bf16 + cl, progressive crops, frozen"


def main() -> int:
    args = _parser().parse_args()
    console = Console(width=max(130, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    images = read_split(args.data, "train")
    config = RunConfig().for_labels(binary=False, background=images.has_background)
    table = Table(title=f"training step, {len(images)} {args.data.name} train images")
    for column in ("model", "setting", "threads", *[f"{p} s" for p in PARTS], "images/s"):
        table.add_column(column, justify="right")
    rates: dict[tuple[str, str, int], float] = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        for model, setting, step in _settings(images, config, args.batches):
            seconds = step()
            batch = config.task("classifier" if "classifier" in model else "segmenter")
            count = seconds.pop("images", batch.batch_size)
            rates[model, setting, threads] = count / sum(seconds.values())
            table.add_row(
                model,
                setting,
                str(threads),
                *[f"{seconds[p]:.3f}" if p in seconds else "-" for p in PARTS],
                f"{rates[model, setting, threads]:.1f}",
            )
            console.print(f"{model}, {setting}, {threads} threads: measured")
    console.print(table)
    console.print(_schedule_table(images, config, rates, args.threads))
    return 0


def _schedule_table(images, config: RunConfig, rates: dict, threads: list[int]) -> Table:
    """The segmenter's images/s over its default schedule's epochs (as its training's data
    module plans them), each epoch at the rate measured for its crops and frozen encoder,
    against float32 at full size throughout."""
    c = config.segmenter
    schedule = ImageSetDataModule(images, images, c).schedule
    kinds = Counter(_epoch_setting(schedule, e) for e in range(c.epochs))
    words = ", ".join(f"{n} x {kind}" for kind, n in kinds.items())
    table = Table(title=f"segmenter training, the default schedule of {c.epochs} epochs: {words}")
    for column in ("threads", "float32, 256 px", "default schedule", "ratio"):
        table.add_column(column, justify="right")
    for n in threads:
        weighted = c.epochs / sum(count / rates[FPN, kind, n] for kind, count in kinds.items())
        before = rates[FPN, "float32", n]
        table.add_row(str(n), f"{before:.1f}", f"{weighted:.1f}", f"{weighted / before:.2f}x")
    return table


def _epoch_setting(schedule: EpochSchedule, epoch: int) -> str:
    """The table row whose rate epoch `epoch` of `schedule` trains at."""
    small = schedule.side(epoch) < schedule.size
    if schedule.frozen(epoch):
        return SMALL_FROZEN if small else "bf16 + cl, encoder frozen"
    return SMALL if small else "bf16 + channels_last"


def _settings(images, config: RunConfig, batches: int):
    """(model, setting, a function timing it) for every row of the table."""

    def segmenter(**levers):
        return lambda: _time_training(images, config, "segmenter", batches, **levers)

    yield "segmenter (FPN)", "float32", segmenter()
    yield "segmenter (FPN)", "bf16 autocast", segmenter(bf16=True)
    yield "segmenter (FPN)", "channels_last", segmenter(channels_last=True)
    yield "segmenter (FPN)", "bf16 + channels_last", segmenter(bf16=True, channels_last=True)
    yield "segmenter (FPN)", "encoder frozen", segmenter(frozen=True)
    yield "segmenter (FPN)", "192 px crops", segmenter(size=192)
    fast = {"bf16": True, "channels_last": True}
    small = config.segmenter.progressive_size
    yield "segmenter (FPN)", "bf16 + cl, encoder frozen", segmenter(frozen=True, **fast)
    yield "segmenter (FPN)", SMALL, segmenter(size=small, **fast)
    yield "segmenter (FPN)", SMALL_FROZEN, segmenter(size=small, frozen=True, **fast)
    before = copy.deepcopy(config).set("segmenter.arch=unet").set("segmenter.pretrained=none")
    yield (
        "U-Net from scratch",
        "256 px, float32 (before)",
        lambda: _time_training(images, before, "segmenter", batches),
    )
    unet = baseline_config(config, "segmenter")
    yield (
        "U-Net from scratch",
        "baseline recipe, bf16 + cl",
        lambda: _time_training(images, unet, "segmenter", batches, **fast),
    )
    scratch = baseline_config(config, "classifier")
    yield (
        "scratch classifier",
        "float32",
        lambda: _time_training(images, scratch, "classifier", batches),
    )
    yield "probe classifier", "features (no grad)", lambda: _time_probe(images, config, batches)


def _time_training(
    images,
    config: RunConfig,
    name: str,
    batches: int,
    bf16: bool = False,
    channels_last: bool = False,
    frozen: bool = False,
    size: int | None = None,
) -> dict[str, float]:
    """Median seconds of each part of a training step of the `name` model."""
    task = build_task(name, images.classes, config, images.has_background)
    c = task.config
    model = task.build_model()
    loss_fn = task.training_loss(images)
    memory = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory).train()
    if frozen:
        model.encoder.requires_grad_(False).eval()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=c.lr)
    crops = dataclasses.replace(c, image_size=size or c.image_size, progressive_scale=1.0)
    data = ImageSetDataModule(images, images, crops, seed=0)
    loader = iter(data.train_dataloader())
    autocast = torch.autocast("cpu", torch.bfloat16) if bf16 else contextlib.nullcontext()
    times: dict[str, list[float]] = {p: [] for p in PARTS}
    for _ in range(batches + 1):  # the first step warms up
        clock = time.perf_counter()
        batch = next(loader)
        x = batch["image"].contiguous(memory_format=memory)
        lap = _lap(times, "data", clock)
        with autocast:
            loss = loss_fn(model(x), batch[task.target_key])
        lap = _lap(times, "forward", lap)
        loss.backward()
        lap = _lap(times, "backward", lap)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _lap(times, "step", lap)
    return {p: statistics.median(t[1:]) for p, t in times.items()}


def _time_probe(images, config: RunConfig, batches: int) -> dict[str, float]:
    """Median seconds of the probe's backbone features for one batch (the probe's only
    network work; its heads train on cached features in seconds)."""
    task = build_task("classifier", images.classes, config, images.has_background)
    model = task.build_model().eval().to(memory_format=torch.channels_last)
    size, batch = task.config.image_size, task.config.batch_size
    x = torch.rand(batch, 3, size, size)
    times = []
    for _ in range(batches + 1):
        clock = time.perf_counter()
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            model.features(x.contiguous(memory_format=torch.channels_last))
        times.append(time.perf_counter() - clock)
    return {"forward": statistics.median(times[1:]), "images": batch}


def _lap(times: dict[str, list[float]], part: str, since: float) -> float:
    now = time.perf_counter()
    times[part].append(now - since)
    return now


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "msrc21")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, default=5)
    return parser


if __name__ == "__main__":
    sys.exit(main())

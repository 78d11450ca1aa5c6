"""Fitting a run's test-time views to a time share: the costs timed on a few of the images
to predict, the richest views that fit (`inference.view_budget`) are written into run.json,
so every later prediction of the run, and the report, use them."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from ..inference.view_budget import Views, affordable_views
from ..runfolder import RunFolder, RunInfo
from .run_models import TrainedModels

TIMED_IMAGES = 4  # enough to average out image sizes; one more runs first, untimed


@dataclasses.dataclass(frozen=True)
class ViewChoice:
    """The views the run had (`configured`) and those it keeps (`chosen`), each image's
    predicted seconds under each, and how many images the share had to cover."""

    configured: Views
    chosen: Views
    configured_s: float
    chosen_s: float
    images: int

    def describe(self) -> str:
        """One line for the job's log and the report."""
        if self.chosen == self.configured:
            return f"{self.chosen.describe()} (about {self.chosen_s * self.images:.0f} s)"
        return (
            f"{self.chosen.describe()} instead of {self.configured.describe()} to keep the "
            f"share (about {self.chosen_s * self.images:.0f} s instead of "
            f"{self.configured_s * self.images:.0f} s for {self.images} images)"
        )


def time_views(models: TrainedModels, pixels: Sequence[np.ndarray]) -> tuple[float, float]:
    """Seconds per image of one pass at scale 1 and of the dense CRF on top, timed on up to
    `TIMED_IMAGES` of `pixels` after one untimed image (first calls pay one-off costs)."""
    task, model = models.segmentation, models.segmenter.model
    sample = list(pixels[1 : 1 + TIMED_IMAGES]) or list(pixels[:1])
    task.predict(model, pixels[:1], tta=False, crf=False)
    started = time.perf_counter()
    task.predict(model, sample, tta=False, crf=False)
    forward_s = (time.perf_counter() - started) / len(sample)
    if not task.config.crf:
        return forward_s, 0.0
    started = time.perf_counter()
    task.predict(model, sample, tta=False, crf=True)
    return forward_s, max(0.0, (time.perf_counter() - started) / len(sample) - forward_s)


def fit_views(
    folder: RunFolder,
    info: RunInfo,
    models: TrainedModels,
    pixels: Sequence[np.ndarray],
    images: int,
    seconds: float,
) -> tuple[RunInfo, ViewChoice]:
    """The run with the richest views that predict `images` images within `seconds`, timed
    on `pixels` (some of them, at least one); run.json is rewritten when they change."""
    configured = Views.of(info.config.segmenter)
    forward_s, crf_s = time_views(models, pixels)  # also what the note's estimate rests on
    chosen = affordable_views(configured, images, seconds, forward_s, crf_s)
    choice = ViewChoice(
        configured,
        chosen,
        configured.seconds(forward_s, crf_s),
        chosen.seconds(forward_s, crf_s),
        images,
    )
    if chosen == configured:
        return info, choice
    segmenter = dataclasses.replace(
        info.config.segmenter, tta_flip=chosen.flip, tta_scales=chosen.scales, crf=chosen.crf
    )
    info = dataclasses.replace(info, config=dataclasses.replace(info.config, segmenter=segmenter))
    folder.write_info(info)
    return info, choice

"""The segmentation levers for thin and small classes: OHEM, EMA of the weights, and
self-training on confident pseudo-labels of the test images."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny import tiny_config

from vocvision.config import ConfigError
from vocvision.data import DataError
from vocvision.data.sample import IGNORE_INDEX, ImageSet, Sample
from vocvision.inference.resampling import argmax_at
from vocvision.layout import ModelLayout
from vocvision.model_config import TaskConfig
from vocvision.tasks.losses import SegmentationLoss, ohem_cross_entropy
from vocvision.training import EpochBudget, epoch_callbacks, fresh_budgets, read_checkpoint
from vocvision.training.loaders import EpochSchedule, ImageSetDataModule
from vocvision.workflow.train_run import train_run


def test_ohem_averages_the_hard_pixels_only():
    # 2 classes, 1 x 1 x 4 pixels: three easy (p(true) ~ 0.99) and one hard (p(true) ~ 0.12)
    logits = torch.tensor([[[[5.0, 5.0, 5.0, -2.0]], [[0.0, 0.0, 0.0, 0.0]]]])
    masks = torch.tensor([[[0, 0, 0, 0]]])
    hard = torch.nn.functional.cross_entropy(logits[..., 3:], masks[..., 3:])
    assert torch.isclose(ohem_cross_entropy(logits, masks), hard)
    plain = torch.nn.functional.cross_entropy(logits, masks)
    assert ohem_cross_entropy(logits, masks) > 3 * plain
    # ignored pixels count nowhere; with no hard pixel, the hardest share is kept
    masks[..., 3] = IGNORE_INDEX
    easy = torch.nn.functional.cross_entropy(logits[..., :1], masks[..., :1])
    assert torch.isclose(ohem_cross_entropy(logits, masks, min_fraction=0.3), easy)
    assert SegmentationLoss("ohem+dice", (1.0, 0.5))(logits, masks) > 0


def test_ohem_class_weights_weigh_the_hard_pixels_without_choosing_them():
    # class 1's pixel is easy (p(true) ~ 0.99) but weighs 10: its weighted loss would pass
    # the threshold, yet only the two hard class-0 pixels count, at their own weight
    logits = torch.tensor([[[[5.0, -2.0, -1.0, 0.0]], [[0.0, 0.0, 0.0, 5.0]]]])
    masks = torch.tensor([[[0, 0, 0, 1]]])
    weight = torch.tensor([0.5, 10.0])
    hard = torch.nn.functional.cross_entropy(logits[..., 1:3], masks[..., 1:3])
    assert torch.isclose(ohem_cross_entropy(logits, masks, weight), hard)
    # among hard pixels of both classes, the weights set each one's share of the mean
    logits[0, 1, 0, 3] = -1.0
    losses = torch.nn.functional.cross_entropy(logits, masks, reduction="none")[0, 0, 1:]
    expected = (0.5 * losses[0] + 0.5 * losses[1] + 10 * losses[2]) / 11
    assert torch.isclose(ohem_cross_entropy(logits, masks, weight), expected)


def test_unsure_pixels_become_ignored_pseudo_labels():
    sure = torch.tensor([math.log(0.95), math.log(0.05)])
    unsure = torch.tensor([math.log(0.6), math.log(0.4)])
    scores = torch.stack([sure] * 4 + [unsure] * 4, 1).reshape(2, 2, 4)  # top row sure
    mask = argmax_at(scores, (2, 4), min_confidence=0.9)
    assert (mask[0] == 0).all() and (mask[1] == IGNORE_INDEX).all()
    assert (argmax_at(scores, (2, 4)) == 0).all()  # without a floor, every pixel is labelled


@pytest.fixture(scope="module")
def self_trained(kaggle_dir, tmp_path_factory):
    config = tiny_config()
    config.segmenter.self_train, config.segmenter.pseudo_confidence = True, 0.3
    config.segmenter.ema_decay = 0.5
    root = tmp_path_factory.mktemp("selftrain")
    train_run(kaggle_dir, root, config, ("segmenter",), progress=False)
    return ModelLayout(root / "segmenter")


def test_ema_saves_the_averaged_weights(self_trained):
    checkpoint = read_checkpoint(self_trained.last_checkpoint)
    averaged, current = checkpoint["state_dict"], checkpoint["current_model_state"]
    name = next(k for k in averaged if k.endswith("weight") and averaged[k].is_floating_point())
    assert not torch.equal(averaged[name], current[name])  # the checkpoint holds the average


def test_self_training_fine_tunes_on_the_test_images(self_trained):
    # the first training's log and checkpoints stay; the fine-tune's log sits beside them
    assert self_trained.metrics_csv.is_file() and self_trained.last_checkpoint.is_file()
    tuned = ModelLayout(self_trained.root / "self_training")
    assert tuned.metrics_csv.is_file() and not tuned.checkpoints.exists()
    assert self_trained.weights.is_file() and not tuned.weights.exists()


def test_self_training_needs_test_images_and_one_device(kaggle_dir, tmp_path):
    config = tiny_config()
    config.segmenter.self_train = True
    with pytest.raises(ConfigError, match="self_train fine-tunes on one device"):
        config.set('devices="2"').validate()
    config.devices = "1"
    data = tmp_path / "no-test"
    data.mkdir()
    (data / "train").symlink_to(kaggle_dir / "train")
    with pytest.raises(DataError, match="self_train needs the test images"):
        train_run(data, tmp_path / "run", config, ("segmenter",), progress=False)
    assert not (tmp_path / "run").exists()  # named before any work


class _Trainer:
    """What EpochBudget reads of a Lightning trainer: 10 steps per epoch, 100 epochs."""

    current_epoch, sanity_checking, datamodule = 0, False, None
    strategy = SimpleNamespace(broadcast=lambda value, src: value)

    def __init__(self) -> None:
        self.fit_loop = SimpleNamespace(max_epochs=100)

    @property
    def max_epochs(self) -> int:  # as Lightning's, both follow the fit loop
        return self.fit_loop.max_epochs

    @property
    def estimated_stepping_batches(self) -> int:
        return 10 * self.fit_loop.max_epochs


def _planned_epochs(budget: EpochBudget, monkeypatch, fit_starts: float, *epoch_ends: float,
                    schedule: EpochSchedule | None = None) -> int:  # fmt: skip
    """The epochs `budget` plans for a 100-epoch fit started at `fit_starts` whose epochs end
    (training and validation) at the clock readings `epoch_ends` (their costs: `schedule`)."""
    clock = iter([fit_starts, *epoch_ends])
    monkeypatch.setattr(epoch_callbacks.time, "perf_counter", lambda: next(clock))
    trainer = _Trainer()
    trainer.datamodule = SimpleNamespace(schedule=schedule)
    module = SimpleNamespace(schedule={"total_steps": 1000})
    budget.on_train_start(trainer, module)
    for epoch in range(len(epoch_ends)):
        trainer.current_epoch = epoch
        budget.on_validation_end(trainer, module)
    assert module.schedule["total_steps"] == 10 * budget.planned  # the schedule follows
    return trainer.fit_loop.max_epochs


def test_a_shared_budget_counts_the_time_spent_before_the_fit(monkeypatch):
    # 100 s, 10 s epochs: 10 fit; with 50 s spent before the fit (an earlier training, the
    # pseudo-labelling), 5; the first training of a self-trained run gets its 70 %
    assert _planned_epochs(EpochBudget(100), monkeypatch, 1000.0, 1010.0) == 10
    assert _planned_epochs(EpochBudget(100, since=950.0), monkeypatch, 1000.0, 1010.0) == 5
    other = object()
    first, kept = fresh_budgets([EpochBudget(100), other], share=0.7)
    assert kept is other and first.planned is None
    assert _planned_epochs(first, monkeypatch, 1000.0, 1010.0) == 7
    # a budget already spent still trains the epoch in progress
    assert _planned_epochs(EpochBudget(100, since=800.0), monkeypatch, 1000.0, 1010.0) == 1


def test_the_budget_plans_again_on_the_second_epochs_time(monkeypatch):
    # 100 s: a slow first epoch (20 s) plans 5; the second takes 10 s, so 80 s hold 8 more
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 20.0) == 5
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 20.0, 30.0) == 9
    # ... and fewer when the second is slower, never below the epoch in progress
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 10.0, 40.0) == 4  # 60 s: 2 more
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 10.0, 120.0) == 2
    # never above the fit's own epochs, and no third plan
    assert _planned_epochs(EpochBudget(10_000), monkeypatch, 0.0, 200.0, 210.0, 900.0) == 100


def test_the_budget_weighs_small_crop_and_frozen_epochs_by_their_cost(monkeypatch):
    # The first epoch ran on 192 px crops (0.5625 of a 256 px epoch's pixels) in 10 s: a
    # full one takes 17.8 s. Of 7 epochs the first 4 are small: 3 more small and 3 full
    # ones take 83 s of the 90 s left; 8 would take 101 s.
    schedule = EpochSchedule(256, 192, small_share=0.5, epochs=100)
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 10.0, schedule=schedule) == 7
    assert schedule.epochs == 7 and schedule.side(3) == 192 and schedule.side(4) == 256
    # a frozen first epoch costs 0.6 of a full one: 10 s frozen, 16.7 s each after
    frozen = EpochSchedule(256, epochs=100, frozen_epochs=1)
    assert _planned_epochs(EpochBudget(100), monkeypatch, 0.0, 10.0, schedule=frozen) == 6
    # validation costs the same in every epoch: of a 10 s small-crop epoch that validated
    # for 5 s, a full-size epoch takes 8.9 + 5 s, so 8 fit where 7 did above
    schedule = EpochSchedule(256, 192, small_share=0.5, epochs=100)
    assert epoch_callbacks._epochs_that_fit(0, 5.0, 5.0, 90.0, 100, schedule) == 8


def test_early_epochs_train_on_smaller_crops_and_a_frozen_encoder_only_when_pretrained():
    image, mask = np.zeros((40, 50, 3), np.uint8), np.zeros((40, 50), np.uint8)
    images = ImageSet(["a"], [Sample(str(i), image, mask, np.ones(1)) for i in range(8)])
    config = TaskConfig(
        image_size=64, epochs=4, batch_size=4, progressive_scale=0.5, progressive_share=0.5
    )
    loader = ImageSetDataModule(images, images, config).train_dataloader()
    sides = []
    for epoch in range(4):
        loader.sampler.set_epoch(epoch)
        sides.append(next(iter(loader))["image"].shape[-1])
    assert sides == [32, 32, 64, 64]
    assert TaskConfig(epochs=8, freeze_epochs=3).frozen_epochs == 2  # a quarter at most
    # ... of the epochs that run: a budget that plans 3 of 40 leaves none frozen
    assert not EpochSchedule(128, epochs=3, frozen_epochs=2).frozen(0)
    assert TaskConfig(epochs=8, freeze_epochs=3, pretrained="none").frozen_epochs == 0
    assert TaskConfig(image_size=100, progressive_scale=1.0).progressive_size is None

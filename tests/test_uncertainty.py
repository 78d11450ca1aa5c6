"""Honest uncertainty: every score has a 95 % bootstrap interval over images, and a gain is
an "Improvement" only when a paired bootstrap over the same images says so."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import tiny_config

import vocvision as vv
from vocvision.metrics import confusion_matrix, segmentation_metrics
from vocvision.report.improvements import marked
from vocvision.uncertainty import compare, interval, mean_of, miou_of


def test_an_interval_holds_the_score_and_narrows_with_more_images(rng):
    few, many = rng.random(20), rng.random(2000)
    low, high = interval(mean_of(few), len(few))
    assert low < few.mean() < high
    wide, narrow = high - low, np.subtract(*interval(mean_of(many), len(many))[::-1])
    assert narrow < wide / 5  # ~ 1 / sqrt(100)


def test_miou_of_all_images_is_the_datasets_miou(rng):
    preds = [rng.integers(0, 3, (8, 8)) for _ in range(5)]
    truths = [rng.integers(0, 3, (8, 8)) for _ in range(5)]
    confusions = np.stack([confusion_matrix(p, t, 3) for p, t in zip(preds, truths, strict=True)])
    expected = segmentation_metrics(preds, truths, 2)["mIoU"]
    assert miou_of(confusions)(np.ones(5)) == pytest.approx(expected)


def test_a_paired_bootstrap_tells_a_real_gain_from_noise(rng):
    base = rng.random(50)
    real = compare(mean_of(base + 0.05), mean_of(base), 50)
    assert real.verdict == "better" and real.low > 0 and real.difference == pytest.approx(0.05)
    noisy = compare(mean_of(base + rng.normal(0, 0.2, 50)), mean_of(base), 50)
    assert noisy.verdict == "within noise" and noisy.low < 0 < noisy.high
    worse = compare(mean_of(base - 0.05), mean_of(base), 50)
    assert worse.verdict == "worse"


def test_marks_follow_the_paired_verdict():
    paired = {"low": -0.01, "high": 0.02, "images": 49, "verdict": "within noise"}
    block = marked("TTA", "Kaggle Dice", 0.865, 0.860, "one view", paired)
    assert block.text.startswith("Within noise: TTA, +0.005 Kaggle Dice")
    assert "-0.010 to +0.020, paired bootstrap over 49 images" in block.text
    better = marked("TTA", "Kaggle Dice", 0.9, 0.8, "one view", {**paired, "verdict": "better"})
    assert type(better).__name__ == "Improvement"


def test_the_report_of_a_tiny_run_shows_intervals_and_marks_by_the_bootstrap(kaggle_dir, tmp_path):
    run, _ = vv.run(kaggle_dir, tmp_path / "run", tiny_config(), only=("classify", "segment"))
    evaluation = run.folder.read_evaluation()
    dice = evaluation.classification["summary"]["dice"]
    low, high = evaluation.classification["intervals"]["dice"]
    assert low <= dice <= high and evaluation.images == 6  # the tiny set's 6 test images
    assert set(evaluation.segmentation["intervals"]) == {"mIoU", "kaggle_dice"}
    saved = run.folder.read_score()
    assert saved["images"] == 6 and saved["intervals"]["dice"][0] <= saved["dice"]
    html = run.folder.layout.report.read_text()
    assert "95 % interval" in html
    labelling = evaluation.comparisons["labelling"]
    word = {"better": "Improvement:", "within noise": "Within noise:", "worse": "No improvement:"}
    assert f"{word[labelling['verdict']]} labelling" in html.replace("<strong>", "")

"""Multi-label classification: folds, thresholds, losses, probe, two-stage, TTA, study."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import timm
import torch

import vocvision as vv
from vocvision.config import ClassifierConfig, ConfigError, RunConfig
from vocvision.data import make_synthetic, write_voc
from vocvision.data.splits import stratified_folds
from vocvision.inference import (
    apply_thresholds,
    cross_fitted_labels,
    per_class_thresholds,
    predict_probabilities,
)
from vocvision.layout import ModelLayout
from vocvision.metrics import classification_metrics
from vocvision.models import Classifier, ProbeClassifier, load_pretrained
from vocvision.report.findings import study_findings
from vocvision.runfolder import RunFolder
from vocvision.tasks import ClassificationTask
from vocvision.tasks.losses import classification_loss, positive_weights
from vocvision.training import TaskModule, fit_probe, read_oof
from vocvision.training.loaders import ImageSetDataModule
from vocvision.training.probe_fitting import extract_features
from vocvision.workflow import study


def _random_labels(rng, n=200, frequencies=(0.5, 0.3, 0.15, 0.08, 0.04)) -> np.ndarray:
    labels = (rng.random((n, len(frequencies))) < np.array(frequencies)).astype(np.uint8)
    labels[labels.sum(1) == 0, 0] = 1
    return labels


def test_stratified_folds_partition_the_images_and_keep_label_balance(rng):
    labels = _random_labels(rng)
    folds = stratified_folds(labels, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))
    expected = labels.sum(0) / 5
    for held in folds:
        assert abs(len(held) - len(labels) / 5) <= 5  # sizes give way to label balance
        # every class's positives are spread evenly: at most one image off its share
        assert np.all(np.abs(labels[held].sum(0) - expected) <= 1.0 + 1e-9)
    assert [f.tolist() for f in folds] == [f.tolist() for f in stratified_folds(labels, 5, 0)]


def test_threshold_search_never_sees_its_scoring_fold(rng):
    labels = _random_labels(rng, n=60)
    scores = rng.random(labels.shape)
    folds = stratified_folds(labels, 4, seed=0)
    seen = []

    def spy(fold_scores, fold_labels):
        seen.append({tuple(row) for row in fold_scores.round(12)})
        return 0.5

    cross_fitted_labels(scores, labels, folds, spy)
    assert len(seen) == len(folds)
    for held, chosen_on in zip(folds, seen, strict=True):
        held_rows = {tuple(row) for row in scores[held].round(12)}
        assert not held_rows & chosen_on
        assert len(chosen_on) == len(scores) - len(held)


def test_cross_fitting_is_honest_where_in_sample_tuning_is_not(rng):
    # pure noise: in-sample per-class thresholds look better than chance; cross-fitted ones
    # must not claim the same gain
    labels = _random_labels(rng, n=120)
    scores = rng.random(labels.shape)
    in_sample = apply_thresholds(scores, per_class_thresholds(scores, labels))
    folds = stratified_folds(labels, 5, seed=0)
    honest = cross_fitted_labels(scores, labels, folds, per_class_thresholds)
    tuned = classification_metrics(scores, labels, in_sample)["dice"]
    assert classification_metrics(scores, labels, honest)["dice"] < tuned


def test_per_class_thresholds_find_each_class_its_own_cut_and_at_least_one(rng):
    n = 300
    labels = np.stack([rng.random(n) < 0.5, rng.random(n) < 0.5], 1).astype(np.uint8)
    # class 0 positives score 0.85-0.95, negatives up to 0.75; class 1 is shifted down
    scores = np.where(labels == 1, 0.85, 0.35) + 0.1 * rng.random((n, 2))
    scores[:, 1] -= 0.3
    thresholds = per_class_thresholds(scores, labels)
    assert 0.45 <= thresholds[0] <= 0.85 and 0.15 <= thresholds[1] <= 0.55
    assert np.array_equal(apply_thresholds(scores, thresholds), labels)
    forced = apply_thresholds(np.array([[0.1, 0.3], [0.9, 0.2]]), 0.5, at_least_one=True)
    assert forced.tolist() == [[0, 1], [1, 0]]


def test_losses_weigh_rare_classes_and_reject_unknown_names():
    labels = torch.tensor([[1, 0], [1, 0], [1, 1], [1, 0], [0, 0]] * 10)
    weights = positive_weights(labels)
    assert weights[0] == 1.0 and weights[1] == 4.0
    logits, target = torch.tensor([[3.0, -3.0]]), torch.tensor([[1.0, 0.0]])
    for name in ("bce", "weighted_bce", "asl"):
        loss = classification_loss(name, weights)
        assert loss(logits, target) < loss(-logits, target)
    with pytest.raises(ValueError, match="unknown classification loss"):
        classification_loss("hinge")
    with pytest.raises(ConfigError, match=r"classifier\.loss"):
        RunConfig(classifier=ClassifierConfig(loss="hinge")).validate()


def test_scratch_backbone_builds_through_timm_and_has_no_weights():
    model = Classifier(5, backbone="vocvision_scratch_cnn", pretrained="none")
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 5)
    with pytest.raises(ValueError, match="from scratch"):
        timm.create_model("vocvision_scratch_cnn", pretrained=True)


def test_two_stage_training_keeps_the_backbone_frozen_first(tmp_path):
    images = make_synthetic(16, seed=0, size=(48, 48))
    config = RunConfig(accelerator="cpu", devices="1")
    c = config.classifier
    # pretrained weights: an encoder from random weights is never frozen (frozen_epochs)
    c.method, c.pretrained, c.backbone, c.freeze_epochs = (
        "finetune",
        "package",
        "tf_efficientnet_lite0",
        1,
    )
    L.seed_everything(0, verbose=False)
    task = ClassificationTask(images.classes, c)
    module = TaskModule(task, task.build_model(), task.training_loss(images))
    backbone_before = {k: v.clone() for k, v in module.model.backbone.state_dict().items()}
    head_before = module.model.head[1].weight.clone()
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    c.image_size, c.batch_size = 32, 8  # the data module plans the frozen epochs from it
    data = ImageSetDataModule(images, images, c)
    trainer.fit(module, datamodule=data)
    after = module.model.backbone.state_dict()
    assert all(torch.equal(backbone_before[k], after[k]) for k in after)  # BN stats too
    assert not torch.equal(head_before, module.model.head[1].weight)


def test_probe_fit_is_deterministic_and_its_heads_ensemble(tmp_path):
    images = make_synthetic(20, seed=0, size=(48, 64))
    config = RunConfig(seed=3)
    c = config.classifier
    c.pretrained, c.image_size, c.folds, c.probe_views = "none", 64, 3, 3
    task = ClassificationTask(images.classes, c)
    layouts = [fit_probe(task, images, ModelLayout(tmp_path / n), seed=3) for n in ("a", "b")]
    models = [load_pretrained(layout.root)[0] for layout in layouts]
    states = [m.state_dict() for m in models]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    model, saved = models[0], load_pretrained(layouts[0].root)[1]
    assert saved["args"]["num_heads"] == 3 and model.weight.shape[0] == 3
    assert saved["image_size"] == 64 and saved["classes"] == images.classes
    batch = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        per_head = model.head_logits(model.features(batch))
        assert torch.allclose(model(batch), per_head.mean(0))
        assert not torch.allclose(per_head[0], per_head[1])
    oof = read_oof(layouts[0].oof)
    assert oof["probabilities"].shape == (20, images.num_classes)
    assert sorted(set(oof["fold"].tolist())) == [0, 1, 2]


def test_feature_views_are_seeded_and_distinct():
    model = ProbeClassifier(3, pretrained="none")
    pixels = [s.image for s in make_synthetic(3, seed=1, size=(40, 56)).samples]
    first = extract_features(model, pixels, 64, views=4, seed=5)
    assert first.shape == (4, 3, 2 * model.backbone.num_features)
    assert torch.equal(first, extract_features(model, pixels, 64, views=4, seed=5))
    assert not torch.allclose(first[2], first[3])


def test_tta_averages_flips_and_scales_into_probabilities():
    model = Classifier(4, pretrained="none").eval()
    pixels = [s.image for s in make_synthetic(3, seed=2, size=(40, 56)).samples]
    plain = predict_probabilities(model, pixels, 64, fast=False)
    assert np.array_equal(
        plain, predict_probabilities(model, pixels, 64, fast=False, scales=(1.0,))
    )
    tta = predict_probabilities(model, pixels, 64, fast=False, flip=True, scales=(0.75, 1.0, 1.25))
    assert tta.shape == plain.shape == (3, 4)
    assert np.all((tta > 0) & (tta < 1)) and not np.allclose(tta, plain)


def test_classification_metrics_by_hand():
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    scores = np.array([[0.9, 0.2, 0.1], [0.8, 0.4, 0.3], [0.7, 0.6, 0.2]])
    m = classification_metrics(scores, labels, (scores > 0.5).astype(int))
    # class 0: one false positive ranked last -> AP 1; class 1: positives ranked 1 and 2 -> AP 1
    assert m["mAP"] == pytest.approx(1.0) and np.isnan(m["per_class_ap"][2])
    assert m["precision"] == pytest.approx(3 / 4) and m["recall"] == pytest.approx(3 / 4)
    # per-image Dice: [1, 2*1/(1+2), 2*1/(2+1)]
    assert m["dice"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_cross_validation_study_writes_rows_and_a_discussion(tmp_path):
    data = tmp_path / "voc"
    write_voc(make_synthetic(30, seed=0, size=(40, 48)), data, "trainval")
    classifier = ClassifierConfig(pretrained="none", image_size=48, probe_views=2)
    folder = RunFolder(tmp_path / "run")
    rows = study.cross_validation_study(
        data, "trainval", folder, folds=3, losses=("bce", "asl"), classifier=classifier
    )
    assert len(rows) == 2 * 2 * 3  # losses x TTA x threshold rules
    assert all(0 <= r["dice"] <= 1 for r in rows)
    saved = folder.read_study()
    lines = study_findings(saved)
    assert saved["cross_validation"].folds == 3 and "3-fold" in lines[0]


def test_the_study_api_runs_the_cross_validation_into_the_run_folder(tmp_path):
    data = tmp_path / "voc"
    write_voc(make_synthetic(24, seed=1, size=(40, 48)), data, "trainval")
    sections = vv.study(data, tmp_path / "run", holdout=False, cv_split="trainval", folds=3)
    assert list(sections) == ["cross_validation"] and sections["cross_validation"].folds == 3
    assert RunFolder(tmp_path / "run").read_study() == sections

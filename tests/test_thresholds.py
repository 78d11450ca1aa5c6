import numpy as np
import pytest

from vocvision.inference import best_global_threshold, class_areas, fuse, labelling_rule_for


def test_best_threshold_separates_scores():
    probabilities = np.array([[0.3, 0.1], [0.25, 0.2], [0.1, 0.35]])
    labels = np.array([[1, 0], [1, 0], [0, 1]])
    threshold = best_global_threshold(probabilities, labels)
    assert 0.2 <= threshold < 0.25
    assert ((probabilities > threshold) == labels).all()


def test_flat_curve_keeps_the_neutral_threshold():
    probabilities = np.array([[0.99, 0.01]])
    assert best_global_threshold(probabilities, np.array([[1, 0]])) == 0.5


def test_class_areas_and_fuse():
    mask = np.array([[0, 1, 1, 2], [0, 0, 1, 255]], dtype=np.uint8)
    assert class_areas([mask], 2).tolist() == [[3 / 8, 1 / 8]]
    fused = fuse(np.array([[0.2, 0.2]]), np.array([[0.3, 0.01]]), area_scale=0.02)
    assert fused == pytest.approx(np.array([[0.6, 0.35]]))


def _labels(rng, n: int, k: int = 4) -> np.ndarray:
    labels = (rng.random((n, k)) < 0.35).astype(np.uint8)
    labels[labels.sum(1) == 0, 0] = 1
    return labels


def test_fusion_is_chosen_when_it_wins_cross_fitted(rng):
    labels = _labels(rng, 40)
    noisy = np.clip(labels * 0.25 + rng.random(labels.shape) * 0.6, 0, 1)  # a weak classifier
    areas = labels * 0.2  # the segmenter finds exactly the present classes
    choice = labelling_rule_for(noisy, areas, labels)
    assert choice.fusion_area_scale is not None and choice.val_dice == 1.0
    assert choice.val_dice_classifier_only < 0.95
    assert "fusion gained" in choice.chosen_on and "95 % interval" in choice.chosen_on
    perfect = labels * 0.9 + 0.05
    assert labelling_rule_for(perfect, areas, labels).fusion_area_scale is None  # a tie
    # A good classifier and areas that are noise: fusion loses, cross-fitted.
    other = np.random.default_rng(0)
    labels = _labels(other, 40)
    good = np.where(other.random(labels.shape) < 0.06, 1 - labels, labels) * 0.8 + 0.1
    noise = other.random(labels.shape) * 0.05
    assert labelling_rule_for(good, noise, labels).fusion_area_scale is None
    assert labelling_rule_for(perfect, None, labels).fusion_area_scale is None
    # Each wrong on ~10 % of labels, independently: fusion gains on average, within noise.
    fair = np.random.default_rng(0)
    labels = _labels(fair, 40)
    good = np.where(fair.random(labels.shape) < 0.1, 1 - labels, labels) * 0.8 + 0.1
    areas_fair = np.where(fair.random(labels.shape) < 0.08, 1 - labels, labels) * 0.2
    within = labelling_rule_for(good, areas_fair, labels)
    assert within.fusion_area_scale is not None and "interval -" in within.chosen_on
    few = labelling_rule_for(noisy[:6], areas[:6], labels[:6])  # too few images to judge fusion
    assert few.fusion_area_scale is None


def test_the_threshold_rests_on_every_held_out_prediction(rng):
    # 30 validation images say 0.75; 300 out-of-fold ones say 0.35: the pool decides.
    val_labels, oof_labels = _labels(rng, 30), _labels(rng, 300)
    val = np.where(val_labels == 1, 0.8, 0.7)
    oof = np.where(oof_labels == 1, 0.4, 0.3)
    alone = labelling_rule_for(val, None, val_labels)
    assert alone.threshold == 0.7 and alone.chosen_on == "validation part (30 images)"
    pooled = labelling_rule_for(val, None, val_labels, pooled=(oof, oof_labels))
    assert pooled.threshold == 0.35 and pooled.val_images == 330
    assert pooled.chosen_on == "out-of-fold predictions on all 330 training images"

import numpy as np
import pytest

from vocvision.inference import best_global_threshold, choose_labelling, class_areas, fuse


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


def test_fusion_is_chosen_only_when_it_helps_on_held_out_labels():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    noisy = np.array([[0.6, 0.6], [0.6, 0.6], [0.6, 0.6], [0.6, 0.6]])  # classifier knows nothing
    areas = labels * 0.2  # the segmenter finds exactly the present classes
    choice = choose_labelling(noisy, areas, labels)
    assert choice.fusion_area_scale is not None and choice.val_dice == 1.0
    assert choice.val_dice_classifier_only < 1.0
    perfect = labels * 0.9 + 0.05
    choice = choose_labelling(perfect, areas, labels)
    assert choice.fusion_area_scale is None  # a tie keeps the classifier alone
    assert choose_labelling(perfect, None, labels).fusion_area_scale is None

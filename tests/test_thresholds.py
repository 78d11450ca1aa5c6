import numpy as np

from vocvision.inference import best_global_threshold


def test_best_threshold_separates_scores():
    probabilities = np.array([[0.3, 0.1], [0.25, 0.2], [0.1, 0.35]])
    labels = np.array([[1, 0], [1, 0], [0, 1]])
    threshold = best_global_threshold(probabilities, labels)
    assert 0.2 <= threshold < 0.25
    assert ((probabilities > threshold) == labels).all()


def test_flat_curve_keeps_the_neutral_threshold():
    probabilities = np.array([[0.99, 0.01]])
    assert best_global_threshold(probabilities, np.array([[1, 0]])) == 0.5

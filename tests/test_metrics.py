import numpy as np
import pytest

from vocvision.metrics import confusion_matrix, dice_per_image, iou_per_class, mask_dice
from vocvision.submission import rle_dice, rle_encode, stacked_class_masks


def test_dice_per_image():
    pred = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]])
    truth = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]])
    assert dice_per_image(pred, truth) == pytest.approx([2 / 3, 1.0, 0.0])


def test_mask_dice_equals_kaggle_rle_dice(rng):
    for _ in range(20):
        truth = rng.integers(0, 4, size=(6, 7)).astype(np.uint8)
        truth[0, :3] = 255  # ignore pixels count as background in the solution
        pred = rng.integers(0, 4, size=(6, 7)).astype(np.uint8)
        expected = rle_dice(
            rle_encode(stacked_class_masks(pred, 3)), rle_encode(stacked_class_masks(truth, 3))
        )
        assert mask_dice(pred, truth) == pytest.approx(expected)


def test_confusion_and_iou_skip_ignore():
    truth = np.array([[0, 1, 1, 255]])
    pred = np.array([[0, 1, 0, 1]])
    confusion = confusion_matrix(pred, truth, 3)
    assert confusion.sum() == 3
    iou = iou_per_class(confusion)
    assert iou[0] == pytest.approx(1 / 2) and iou[1] == pytest.approx(1 / 2)
    assert np.isnan(iou[2])

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from vocvision.submission import RLEError, rle_decode, rle_dice, rle_encode
from vocvision.submission.rle import parse_runs


def starter_rle_encode(img):
    """The competition starter's encoder, verbatim in behaviour, as the reference."""
    pixels = img.flatten()
    pixels = np.concatenate([[0], pixels, [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return " ".join(str(x) for x in runs)


binary_arrays = arrays(
    np.uint8, array_shapes(min_dims=1, max_dims=3, max_side=12), elements=st.integers(0, 1)
)


@given(binary_arrays)
def test_encode_equals_starter_encoder(array):
    assert rle_encode(array) == starter_rle_encode(array)


@given(binary_arrays)
def test_decode_inverts_encode(array):
    assert np.array_equal(rle_decode(rle_encode(array), array.size), array.ravel().astype(bool))


def test_boolean_stack_equals_starter_on_random_masks(rng):
    seg = rng.integers(0, 4, size=(7, 9))
    stack = np.array([seg == k + 1 for k in range(3)])
    assert rle_encode(stack) == starter_rle_encode(stack)


def test_known_encodings():
    assert rle_encode(np.array([0, 1, 1, 0, 1])) == "2 2 5 1"
    assert rle_encode(np.zeros((3, 3))) == ""
    assert rle_encode(np.ones(4)) == "1 4"


@pytest.mark.parametrize("bad", ["1", "a 2", "0 2", "3 0", "5 2 1 1", "1 3 3 1"])
def test_malformed_rle_is_rejected(bad):
    with pytest.raises(RLEError):
        parse_runs(bad)


def test_decode_rejects_runs_past_the_array():
    with pytest.raises(RLEError, match="past"):
        rle_decode("4 3", 5)


def test_dice_hand_computed():
    assert rle_dice("1 3", "2 3") == pytest.approx(2 * 2 / 6)  # {1,2,3} vs {2,3,4}
    assert rle_dice("", "") == 1.0
    assert rle_dice("1 2", "") == 0.0
    assert rle_dice("1 1 5 2", "5 2") == pytest.approx(2 * 2 / 5)

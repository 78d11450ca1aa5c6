from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vocvision.data import make_synthetic, write_kaggle, write_truth

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory) -> Path:
    """A tiny synthetic Kaggle-layout dataset: 24 train, 6 test images with truth aside."""
    root = tmp_path_factory.mktemp("kaggle")
    write_kaggle(make_synthetic(24, seed=0, size=(48, 64)), root, "train")
    test = make_synthetic(6, seed=1, size=(48, 64), first_id=1000)
    write_kaggle(test, root, "test", hide_labels=True)
    write_truth(test, root)
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

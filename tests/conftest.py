from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vocvision.data import write_synthetic_dataset


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory) -> Path:
    """A tiny synthetic Kaggle-layout dataset: 24 train, 6 test images with truth aside."""
    root = tmp_path_factory.mktemp("kaggle")
    write_synthetic_dataset(root, 24, 6, seed=0, size=(48, 64))
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

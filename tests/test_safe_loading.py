"""Model files never run code: inference reads safetensors; checkpoints load weights only."""

from __future__ import annotations

import shutil

import pytest
import torch
from tiny import tiny_config

import vocvision as vv
from vocvision.errors import ModelFileError


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def trained(kaggle_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("safe")
    vv.train(kaggle_dir, root, tiny_config(1, "finetune"), progress=False)
    return root


def _plant(path, marker) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": _Payload(marker), "hyper_parameters": {}}, path)


def test_a_crafted_checkpoint_is_never_executed_by_load_and_predict(trained, tmp_path,
                                                                     monkeypatch):  # fmt: skip
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch's unsafe default
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    marker = tmp_path / "pwned"
    for name in ("classifier", "segmenter"):
        for ckpt in ("best.ckpt", "last.ckpt"):
            _plant(run_dir / name / "checkpoints" / ckpt, marker)
    predictions = vv.Run.load(run_dir).predict(split="test")
    assert len(predictions) == 6 and not marker.exists()


def test_a_crafted_checkpoint_of_an_old_format_run_is_refused(trained, tmp_path, monkeypatch):
    """A run without safetensors files is converted from its checkpoints, weights only."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    marker = tmp_path / "pwned"
    for name in ("classifier", "segmenter"):
        (run_dir / name / "model.safetensors").unlink()
        for ckpt in ("best.ckpt", "last.ckpt"):
            _plant(run_dir / name / "checkpoints" / ckpt, marker)
    with pytest.raises(ModelFileError, match=r"best\.ckpt: unreadable or unsafe checkpoint"):
        vv.Run.load(run_dir).predict(split="test")
    assert not marker.exists()


def test_an_old_format_run_is_converted_from_its_checkpoints(trained, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    expected = vv.Run.load(run_dir).predict(split="test")
    for name in ("classifier", "segmenter"):
        (run_dir / name / "model.safetensors").unlink()
    converted = vv.Run.load(run_dir).predict(split="test")
    assert (run_dir / "segmenter" / "model.safetensors").is_file()
    assert (converted.scores == expected.scores).all()

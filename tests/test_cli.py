import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from vocvision import launcher
from vocvision.cli import app
from vocvision.submission import write_submission

runner = CliRunner()


def test_convert_score_and_validate_commands(kaggle_dir, tmp_path):
    result = runner.invoke(app, ["convert", str(kaggle_dir), str(tmp_path / "voc")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "voc" / "ImageSets" / "Segmentation" / "test.txt").is_file()
    from vocvision.data import read_kaggle

    truth = read_kaggle(kaggle_dir, "truth")
    perfect = tmp_path / "perfect.csv"
    write_submission(perfect, truth.ids, truth.label_matrix(), [s.mask for s in truth.samples], 5)
    result = runner.invoke(app, ["score", str(perfect), "--truth", str(kaggle_dir / "truth")])
    assert result.exit_code == 0 and "1.0000" in result.output
    result = runner.invoke(app, ["validate", str(perfect), "--data", str(kaggle_dir)])
    assert result.exit_code == 0 and "valid" in result.output
    empty = tmp_path / "empty.csv"
    write_submission(
        empty,
        truth.ids[:-1],
        truth.label_matrix()[:-1],
        [np.zeros_like(s.mask) for s in truth.samples[:-1]],
        5,
    )
    result = runner.invoke(app, ["validate", str(empty), "--data", str(kaggle_dir)])
    assert result.exit_code == 1 and "rows missing" in result.output


def test_bad_data_gives_a_clear_error_and_exit_code(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train_set.csv").write_text("Id,cat\n1,1\n")
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "vocvision", "train", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2
    assert "train_1.npy: file not found" in done.stdout.replace("\n", "")


def test_entry_point_reexecs_once_with_malloc_settings(monkeypatch):
    calls = []
    monkeypatch.setattr(launcher.os, "execve", lambda *args: calls.append(args))
    for key in launcher.MALLOC_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv(launcher.OPT_OUT, raising=False)
    launcher.reexec_with_malloc_settings()
    assert len(calls) == 1
    _executable, argv, env = calls[0]
    assert argv[1:3] == ["-m", "vocvision"]
    assert all(env[k] == v for k, v in launcher.MALLOC_SETTINGS.items())
    monkeypatch.setattr(launcher.os, "environ", {**os.environ, **launcher.MALLOC_SETTINGS})
    launcher.reexec_with_malloc_settings()  # already set: no second exec
    monkeypatch.setattr(launcher.os, "environ", {launcher.OPT_OUT: "1"})
    launcher.reexec_with_malloc_settings()  # opted out
    assert len(calls) == 1


def test_options_override_the_config_file_only_when_given(tmp_path):
    from vocvision.cli.options import build_config
    from vocvision.config import RunConfig

    saved = RunConfig(seed=7)
    saved.classifier.backbone = saved.segmenter.backbone = "tf_efficientnet_lite2"
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(saved.to_dict()))
    config = build_config(path, epochs=3, arch="unet", devices=None)
    assert config.seed == 7 and config.classifier.backbone == "tf_efficientnet_lite2"
    assert config.classifier.epochs == config.segmenter.epochs == 3
    assert config.segmenter.arch == "unet" and config.devices == "auto"


def test_classifier_options_and_a_bad_choice_stop_with_a_clear_error(kaggle_dir):
    from vocvision.cli.options import build_config

    config = build_config(None, method="finetune", loss="asl")
    assert (config.classifier.method, config.classifier.loss) == ("finetune", "asl")
    assert config.segmenter.arch == "auto"
    done = subprocess.run(
        [sys.executable, "-m", "vocvision", "train", str(kaggle_dir), "--method", "svm"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert done.returncode == 2
    assert "classifier.method must be one of" in done.stdout.replace("\n", "")


def test_set_reaches_any_setting_and_rejects_unknown_ones():
    from vocvision.cli.options import build_config
    from vocvision.config import ConfigError

    config = build_config(
        None,
        settings=[
            "segmenter.loss=ce+dice",
            "segmenter.loss_weights=[0.05, 0.95]",
            "segmenter.inference_side=360",
            "seed=3",
        ],
    )
    assert config.segmenter.loss_weights == (0.05, 0.95)
    assert config.segmenter.inference_side == 360 and config.seed == 3
    assert config.validate().segmenter.loss == "ce+dice"
    with pytest.raises(ConfigError, match="no such setting"):
        build_config(None, settings=["segmenter.colour=red"])
    with pytest.raises(ConfigError, match="no section"):
        build_config(None, settings=["decoder.depth=3"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        build_config(None, settings=["seed"])

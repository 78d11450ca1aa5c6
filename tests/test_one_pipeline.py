"""The job and the Run API are one pipeline: the run records every result it produces, the
report shows the latest of them, and one `vocvision run` loads each model once."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from tiny import tiny_config
from typer.testing import CliRunner

import vocvision as vv
from vocvision.cli import app
from vocvision.models import hub


def test_one_job_loads_each_model_once(kaggle_dir, tmp_path, monkeypatch):
    loads: Counter = Counter()
    original = hub.load_pretrained

    def counting(folder, *args, **kwargs):
        loads[str(Path(folder).relative_to(tmp_path))] += 1
        return original(folder, *args, **kwargs)

    monkeypatch.setattr("vocvision.workflow.run_models.load_pretrained", counting)
    run, score = vv.run(kaggle_dir, tmp_path / "job", tiny_config(), budget_s=150)
    assert score is not None and run.folder.read_attacks().rows  # every stage did its work
    assert loads == {
        "job/classifier": 1,
        "job/segmenter": 1,
        "job/baselines/classifier/classifier": 1,
        "job/baselines/segmenter/segmenter": 1,
        "job/baselines/unet_pretrained/segmenter": 1,
    }


@pytest.fixture(scope="module")
def trained(kaggle_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline") / "run"
    vv.train(kaggle_dir, root, tiny_config(), progress=False)
    return root


def _submission_ids(path: Path) -> list[str]:
    ids = pd.read_csv(path)["Id"].astype(str)
    return sorted({i.rsplit("_", 1)[0] for i in ids})


def test_submit_after_predicting_other_data_writes_the_runs_own_test_split(
    trained, kaggle_dir, tmp_path
):
    run = vv.Run.load(trained)
    own = run.predict(split="test")
    other = tmp_path / "other"
    shutil.copytree(kaggle_dir, other)
    table = other / "test" / "test_set.csv"
    rows = table.read_text().splitlines()
    table.write_text("\n".join(rows[:-3]) + "\n")  # the other folder's test split is smaller
    for line in rows[-3:]:
        (other / "test" / "img" / f"test_{line.split(',')[0]}.npy").unlink()
    theirs = run.predict(split="test", data=other)
    assert len(theirs) == len(own) - 3
    submission = run.submit()
    assert _submission_ids(submission.path) == sorted(own.ids)
    assert run.predictions("test", data=other).ids == theirs.ids  # kept apart, not lost


def test_the_report_after_submit_threshold_shows_the_new_score(trained, tmp_path):
    root = tmp_path / "run"
    shutil.copytree(trained, root)
    run = vv.Run.load(root)
    run.predict(split="test")
    first = run.submit().score()
    run.report()
    assert run.folder.read_score()["dice"] == pytest.approx(first.overall)
    result = CliRunner().invoke(app, ["submit", str(root), "--threshold", "0.95"])
    assert result.exit_code == 0, result.output
    saved = run.folder.read_score()
    assert saved["dice"] != pytest.approx(first.overall)  # 0.95 labels differently
    rule = run.folder.read_labelling()
    assert rule.threshold == 0.95 and rule.chosen_on == "given"  # labelling.json, the truth
    again = vv.Run.load(root)
    assert again.labelling == rule and again.predictions("test").labels.sum() == (
        rule.labels(again.predictions("test").scores).sum()
    )
    html = run.folder.layout.report.read_text()
    assert f"{saved['dice']:.4f}" in html and f"{first.overall:.4f}" not in html

"""Nothing lost, nothing wrong in silence: runs and data must match, failures leave the
previous run intact, files are complete or absent, resuming repeats only the epoch in
progress, and DDP writes one run."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from tiny import tiny_config

import vocvision as vv
from vocvision.config import ConfigError
from vocvision.data import DataError, write_voc
from vocvision.data.synthetic import make_synthetic
from vocvision.errors import ModelFileError, RunFolderError
from vocvision.fileio import atomic_path, write_text
from vocvision.models import PretrainedWeightsError, Segmenter
from vocvision.runfolder import RunFolder


@pytest.fixture(scope="module")
def trained(kaggle_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    vv.train(kaggle_dir, root, tiny_config(), progress=False)
    return root


def _digest(root: Path) -> dict[str, str]:
    """Every file of a folder and its content hash (logs' timing-free content included)."""
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- runs and data must match ------------------------------------------------------------------


def test_data_with_other_classes_is_refused_naming_both(trained, tmp_path):
    other = tmp_path / "voc"
    write_voc(make_synthetic(4, seed=1, size=(32, 40)), other, "train")
    labelmap = json.loads((other / "labelmap.json").read_text())
    labelmap["classes"] = ["background", "a", "b", "c", "d", "e"]
    (other / "labelmap.json").write_text(json.dumps(labelmap))
    with pytest.raises(RunFolderError, match=r"classes \['a', 'b'.* do not match the run's"):
        vv.Run.load(trained).predict(split="train", data=other)


def test_swapped_csv_columns_are_refused(trained, kaggle_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(kaggle_dir, data)
    csv = data / "test" / "test_set.csv"
    table = pd.read_csv(csv, dtype={"Id": str})
    columns = list(table.columns)
    columns[1], columns[2] = columns[2], columns[1]
    table[columns].to_csv(csv, index=False)
    with pytest.raises(RunFolderError, match="names and order must be the same"):
        vv.Run.load(trained).predict(split="test", data=data)


def test_a_model_of_other_classes_inside_a_run_is_refused(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    Segmenter(21, pretrained="none").save_pretrained(run / "segmenter", image_size=64)
    with pytest.raises(RunFolderError, match="a model of 21 classes in a run of 5"):
        vv.Run.load(run).predict(split="test")


def test_masks_come_back_in_the_datasets_own_values(tmp_path):
    """A set without background (CamVid-like): label files hold 0..K-1, and so do the
    predicted masks, the saved predictions and the PNGs."""
    voc = tmp_path / "voc"
    images = make_synthetic(12, seed=0, size=(32, 40))
    write_voc(images.__class__(images.classes, images.samples, has_background=False), voc, "train")
    write_voc(images.__class__(images.classes, images.samples[:3], has_background=False), voc,
              "val")  # fmt: skip
    config = tiny_config()
    config.classifier.threshold = 0.5
    run = vv.train(voc, tmp_path / "run", config, models=("segmenter",), progress=False)
    predictions = run.predict(split="test")
    values = set(np.unique(np.concatenate([m.ravel() for m in predictions.masks])).tolist())
    assert values <= set(range(5))  # the dataset's 0..4, never vocvision's 5
    saved = run.predictions("test")
    assert all(np.array_equal(a, b) for a, b in zip(saved.masks, predictions.masks, strict=True))
    pngs = run.save_masks(predictions, tmp_path / "pngs")
    with Image.open(pngs[0]) as png:
        assert png.mode == "P" and np.array_equal(np.asarray(png), predictions.masks[0])
        with Image.open(voc / "SegmentationClass" / "0.png") as label:
            assert png.getpalette()[:30] == label.getpalette()[:30]


def test_predictions_of_other_data_get_their_own_file(trained, kaggle_dir, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(kaggle_dir, data)
    run = vv.Run.load(trained)
    run.predict(split="test")
    own = run.folder.layout.predictions("test")
    before = own.read_bytes()
    run.predict(split="test", data=data)
    assert own.read_bytes() == before
    assert run.folder.layout.predictions("test", data).is_file()


# --- failures leave the run as it was ------------------------------------------------------


def test_masks_are_never_written_into_the_data_folder(trained, kaggle_dir):
    run = vv.Run.load(trained)
    before = _digest(kaggle_dir)
    with pytest.raises(RunFolderError, match=r"inside the data folder .*choose a folder outside"):
        run.predict(split="test", masks_dir=kaggle_dir / "train" / "seg")
    assert _digest(kaggle_dir) == before


def test_attacks_refuse_unanswered_splits_and_unknown_settings(trained):
    run = vv.Run.load(trained)
    before = _digest(trained)
    # Kaggle test labels are hidden: nothing to score an attack against.
    with pytest.raises(DataError, match=r"split 'test': image \S+ \(and 5 more\) has no labels"):
        run.attack(split="test", max_images=2, steps=1)
    with pytest.raises(ConfigError, match=r"models to attack must be among .* got \('foo',\)"):
        run.attack(models=("foo",))
    with pytest.raises(ConfigError, match=r"eps must be in 0..1 .*; steps must be >= 1, got 0"):
        run.attack(eps=2.0, steps=0)
    assert _digest(trained) == before


def test_an_unknown_backbone_or_missing_weights_stop_before_training(kaggle_dir, tmp_path):
    config = tiny_config()
    config.classifier.backbone = "resnet9999"
    unknown = r"classifier: unknown backbone 'resnet9999' \(not a timm model\); did you mean"
    with pytest.raises(PretrainedWeightsError, match=unknown):
        vv.train(kaggle_dir, tmp_path / "r1", config, progress=False)
    config = tiny_config()
    config.segmenter.pretrained = str(tmp_path / "missing.pth")
    with pytest.raises(PretrainedWeightsError, match=r"segmenter: .*missing\.pth: no such weights"):
        vv.train(kaggle_dir, tmp_path / "r2", config, progress=False)
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_a_failing_train_leaves_the_previous_run_intact(trained, kaggle_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    before = _digest(run)
    data = tmp_path / "no-masks"
    shutil.copytree(kaggle_dir, data)
    shutil.rmtree(data / "train" / "seg")
    with pytest.raises(DataError, match="the segmenter needs a mask"):
        vv.train(data, run, tiny_config(), progress=False)
    assert _digest(run) == before

    import vocvision.workflow.train_run as training

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory in the segmenter")

    monkeypatch.setattr(training, "fit_model", broken)  # the classifier trains first, then this
    with pytest.raises(RuntimeError, match="out of memory"):
        vv.train(kaggle_dir, run, tiny_config(), progress=False)
    assert {k: v for k, v in _digest(run).items() if not k.startswith(".")} == before


def test_submit_validates_before_writing(trained, monkeypatch):
    import vocvision.workflow.kaggle_submission as submitting

    run = vv.Run.load(trained)
    run.predict(split="test")
    good = run.submit().path.read_bytes()
    monkeypatch.setattr(submitting, "check_rows", lambda *a, **k: ["row 1: run ends past the end"])
    with pytest.raises(RunFolderError, match="invalid submission"):
        run.submit()
    assert run.folder.layout.submission.read_bytes() == good


def test_submit_into_a_folder_writes_submission_csv_there(trained, tmp_path):
    run = vv.Run.load(trained)
    run.predict(split="test")
    assert run.submit(out=tmp_path).path == tmp_path / "submission.csv"
    assert (tmp_path / "submission.csv").read_bytes() == run.submit().path.read_bytes()


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "best.ckpt"
    path.write_bytes(b"old")

    def full_disk(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(f))

    monkeypatch.setattr(torch, "save", full_disk)
    from vocvision.training.checkpoints import AtomicCheckpointIO

    with pytest.raises(OSError, match="No space left"):
        AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, path)
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["best.ckpt"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(umask, mode, tmp_path):
    old = os.umask(umask)
    try:
        write_text(tmp_path / "a.json", "{}")
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == mode
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == mode


def test_truncated_run_json_and_checkpoints_are_named(trained, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    info = run / "run.json"
    info.write_text(info.read_text()[:40])
    with pytest.raises(RunFolderError, match=r"run\.json: unreadable run description"):
        vv.Run.load(run)
    shutil.copy2(trained / "run.json", info)
    last = run / "segmenter" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match=r"last\.ckpt: unreadable or unsafe checkpoint"):
        vv.train(_data_of(trained), run, tiny_config(2), ("segmenter",), resume=True,
                 progress=False)  # fmt: skip


def _data_of(run: Path) -> Path:
    return Path(json.loads((run / "run.json").read_text())["data"]["dir"])


# --- resume ------------------------------------------------------------------------------------

KILLER = """
import os, signal, sys
import lightning as L
from vocvision.workflow.train_run import train_run
sys.path.insert(0, {tests!r})
from tiny import tiny_config

class Kill(L.Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, index):
        if trainer.current_epoch == 2 and index == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # mid-epoch, as a power cut would

config = tiny_config(4, "finetune")
config.classifier.batch_size = 4
callbacks = [Kill()] if sys.argv[2] == "kill" else []
train_run({data!r}, sys.argv[1], config, ("classifier",), resume=sys.argv[2] == "resume",
          progress=False, callbacks=callbacks)
"""


def test_resuming_after_a_kill_repeats_only_the_epoch_in_progress(kaggle_dir, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(KILLER.format(tests=str(Path(__file__).parent), data=str(kaggle_dir)))
    env = {**os.environ, "VOCVISION_NO_MALLOC_TUNING": "1"}

    def train(folder: Path, mode: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), str(folder), mode], env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip

    killed = train(tmp_path / "a", "kill")
    assert killed.returncode == -signal.SIGKILL
    staged = tmp_path / "a" / ".classifier.training"
    done = torch.load(staged / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    assert done == 1  # epochs 0 and 1 finished; epoch 2 was in progress
    assert train(tmp_path / "a", "resume").returncode == 0
    assert train(tmp_path / "b", "plain").returncode == 0
    resumed = vv.Run.load(tmp_path / "a").models.classifier.model.state_dict()
    straight = vv.Run.load(tmp_path / "b").models.classifier.model.state_dict()
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    log = pd.read_csv(tmp_path / "a" / "classifier" / "logs" / "metrics.csv")
    assert sorted(log["epoch"].dropna().unique()) == [0, 1, 2, 3]
    assert (log.dropna(subset=["val/mAP"])["epoch"].value_counts() == 1).all()


def test_resuming_from_a_crafted_checkpoint_never_runs_it(trained, tmp_path, monkeypatch):
    from test_safe_loading import _plant

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    marker = tmp_path / "pwned"
    _plant(run / "segmenter" / "checkpoints" / "last.ckpt", marker)
    with pytest.raises(ModelFileError, match="unsafe checkpoint"):
        vv.train(_data_of(trained), run, tiny_config(2), ("segmenter",), resume=True,
                 progress=False)  # fmt: skip
    assert not marker.exists()


# --- DDP -------------------------------------------------------------------------------------

DDP = """
import sys
import vocvision as vv
sys.path.insert(0, {tests!r})
from tiny import tiny_config

config = tiny_config(1, "finetune")
config.devices = sys.argv[2]
vv.train({data!r}, sys.argv[1], config, progress=False)
from vocvision.training import is_worker_process
print("WORKER" if is_worker_process() else "MAIN", flush=True)
"""


def test_two_process_ddp_writes_one_run(kaggle_dir, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP.format(tests=str(Path(__file__).parent), data=str(kaggle_dir)))
    env = {**os.environ, "VOCVISION_NO_MALLOC_TUNING": "1", "OMP_NUM_THREADS": "1"}
    outputs = {}
    for devices in ("1", "2"):
        done = subprocess.run([sys.executable, str(script), str(tmp_path / devices), devices],
                              env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        outputs[devices] = sorted(done.stdout.split())
    assert outputs == {"1": ["MAIN"], "2": ["MAIN", "WORKER"]}  # Lightning re-ran the script

    def files(root: Path) -> list[str]:
        names = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
        return sorted("events" if "tfevents" in n else n for n in names if "/logs/" not in n
                      or n.endswith("metrics.csv"))  # fmt: skip

    assert files(tmp_path / "2") == files(tmp_path / "1")
    run = vv.Run.load(tmp_path / "2")
    assert run.folder.read_labelling() is not None and len(run.predict(split="test")) == 6


DDP_JOB = """
import sys
import vocvision as vv
from vocvision.job.schedule import Budget
from vocvision.training import is_worker_process
sys.path.insert(0, {tests!r})
from tiny import tiny_config

if is_worker_process():  # a worker whose own clock says the budget is spent
    Budget.allot = lambda self, stage, pending: 0.0
config = tiny_config(1, "finetune")
config.devices = "2"
vv.run({data!r}, sys.argv[1], config, budget_s=120, only=("classify", "baselines"))
"""


def test_ddp_processes_take_the_main_process_budget_decisions(kaggle_dir, tmp_path):
    # Had the worker skipped the baseline its clock has no time for, the main process would
    # wait for it forever in the baseline's first collective.
    script = tmp_path / "ddp_job.py"
    script.write_text(DDP_JOB.format(tests=str(Path(__file__).parent), data=str(kaggle_dir)))
    env = {**os.environ, "VOCVISION_NO_MALLOC_TUNING": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "run")], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    stages = {s.name: s for s in RunFolder(tmp_path / "run").read_job().stages}
    assert stages["baselines"].status == "done", stages["baselines"].note
    assert (tmp_path / "run" / "baselines" / "classifier" / "classifier").is_dir()

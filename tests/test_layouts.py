"""The plain layouts people have (images + masks, images + labels.csv, a folder of images),
one rule for pixel types, and writes that fail whole."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_bad_inputs import run_cli
from tiny import tiny_config

import vocvision as vv
from vocvision.data import (
    DataError,
    convert,
    layout_of,
    make_synthetic,
    read_kaggle,
    read_split,
    write_folders,
    write_labels_csv,
    write_voc,
)
from vocvision.errors import RunFolderError


def _same_masks(a, b) -> bool:
    return all(np.array_equal(x.mask, y.mask) for x, y in zip(a.samples, b.samples, strict=True))


@pytest.fixture
def folders(tmp_path):
    """An images + masks folder with labelmap.json and split files, and what it holds."""
    train, test = make_synthetic(6, seed=0, size=(32, 40)), make_synthetic(3, seed=1, first_id=50)
    write_folders(train, tmp_path / "f", "train")
    write_folders(test, tmp_path / "f", "test")
    return tmp_path / "f", train, test


def test_images_and_masks_read_back_as_written(folders):
    root, train, test = folders
    assert layout_of(root) == "folders"
    read = read_split(root, "train")
    assert read.classes == train.classes and read.ids == train.ids and _same_masks(read, train)
    pairs = zip(read.samples, train.samples, strict=True)
    assert all(np.array_equal(a.image, b.image) for a, b in pairs)
    assert read_split(root, "test").ids == test.ids


def test_without_split_files_the_images_without_a_mask_are_the_test_split(folders, caplog):
    root, train, test = folders
    shutil.rmtree(root / "splits")
    (root / "labelmap.json").unlink()
    for sample in test.samples:
        (root / "masks" / f"{sample.id}.png").unlink()
    read = read_split(root, "train")
    assert read.ids == sorted(train.ids) and read_split(root, "test").ids == sorted(test.ids)
    top = max(int(s.mask[s.mask != 255].max()) for s in train.samples)
    assert read.classes == [f"class_{v}" for v in range(1, top + 1)]
    assert "no labelmap.json" in caplog.text
    with pytest.raises(DataError, match=r"split 'val' not found \(without splits/"):
        read_split(root, "val")


def test_masks_of_0_and_255_without_a_labelmap_are_binary(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 10:20] = 255
    for name in ("a", "b"):
        image = Image.fromarray(np.full((20, 30, 3), 90, np.uint8))
        image.save(tmp_path / "images" / f"{name}.jpg")
        Image.fromarray(mask).save(tmp_path / "masks" / f"{name}.png")
    read = read_split(tmp_path, "train")
    assert read.classes == ["foreground"] and read.binary
    assert read.samples[0].mask.sum() == 100 and read.coding.values == (0, 255)


def test_labels_csv_is_classification_only(tmp_path):
    images = make_synthetic(5, seed=0, size=(32, 40))
    write_labels_csv(images, tmp_path)
    extra = make_synthetic(2, seed=1, size=(32, 40), first_id=90)
    write_labels_csv(extra, tmp_path, hide_labels=True)
    table = pd.read_csv(tmp_path / "labels.csv", keep_default_na=False)
    table.loc[0, "labels"] = ""  # an image with none of the classes
    table["image"] = table["image"].str.replace(".png", "", regex=False)  # stems work too
    table.to_csv(tmp_path / "labels.csv", index=False)
    train = read_split(tmp_path, "train")
    assert layout_of(tmp_path) == "labels-csv" and train.classes == sorted(images.classes)
    assert train.samples[0].labels.sum() == 0 and all(s.mask is None for s in train.samples)
    order = [images.classes.index(c) for c in train.classes]
    assert np.array_equal(train.label_matrix()[1:], images.label_matrix()[1:, order])
    assert read_split(tmp_path, "test").ids == ["90", "91"]
    (tmp_path / "images" / "3.png").unlink()
    with pytest.raises(DataError, match=r"labels\.csv: image 3 is not in images/"):
        read_split(tmp_path, "train")
    (tmp_path / "labels.csv").write_text("file,tags\na.png,x\n")
    with pytest.raises(DataError, match=r"labels\.csv: needs the columns image,labels"):
        read_split(tmp_path, "train")


def test_convert_to_and_from_the_plain_layouts(kaggle_dir, tmp_path):
    assert convert(kaggle_dir, tmp_path / "f", to="folders") == "folders"
    assert convert(tmp_path / "f", tmp_path / "k") == "voc"  # images + masks -> VOC
    assert convert(kaggle_dir, tmp_path / "c", to="labels-csv") == "labels-csv"
    assert convert(tmp_path / "c", tmp_path / "ck") == "kaggle"
    original = read_kaggle(kaggle_dir, "train")
    back = read_split(tmp_path / "k", "train")
    assert back.classes == original.classes and _same_masks(back, original)
    labels = read_kaggle(tmp_path / "ck", "train")
    order = [labels.classes.index(c) for c in original.classes]
    assert np.array_equal(labels.label_matrix()[:, order], original.label_matrix())
    truth = read_split(tmp_path / "f", "test")  # the test answers travel as the test masks
    assert _same_masks(truth, read_kaggle(kaggle_dir, "truth"))
    with pytest.raises(DataError, match=r"c: labels\.csv holds image labels, no masks"):
        convert(tmp_path / "c", tmp_path / "v", to="voc")
    assert not (tmp_path / "v").exists()


# --- one rule for pixel types ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, said",
    [
        ("float01", "of floats in 0..1, scaled to 0..255"),
        ("uint16", "of 16 bits, scaled to 8 bits (value / 257)"),
        ("grey", "grey, repeated to RGB"),
    ],
)
def test_each_pixel_type_is_converted_and_said_once_per_dataset(kind, said, kaggle_dir,
                                                                tmp_path, caplog):  # fmt: skip
    data = tmp_path / "data"
    shutil.copytree(kaggle_dir, data)
    originals = {}
    for path in sorted((data / "train" / "img").glob("*.npy"))[:3]:
        image = originals[path.name] = np.load(path)
        stored = {
            "float01": image / 255.0,
            "uint16": image.astype(np.uint16) * 257,
            "grey": image[..., 0],
        }[kind]
        np.save(path, stored)
    with caplog.at_level("WARNING"):
        images = read_kaggle(data, "train")
        read_kaggle(data, "train")  # read again, as a job does: said once
    for sample in images.samples:
        name = f"train_{sample.id}.npy"
        if name in originals:
            expected = originals[name]
            if kind == "grey":
                expected = np.repeat(expected[..., :1], 3, axis=2)
            assert sample.image.dtype == np.uint8 and np.array_equal(sample.image, expected)
    lines = [r.getMessage() for r in caplog.records if said in r.getMessage()]
    assert lines == [f"{data / 'train' / 'img'}: 3 image(s) {said} (e.g. {min(originals)})"]


@pytest.mark.parametrize(
    "stored, expected",
    [
        (np.full((8, 8, 3), 300.0), r"float image values 300\.\.300; expected 0\.\.1 or 0\.\.255"),
        (np.full((8, 8, 3), np.nan), r"image holds NaN or infinite values"),
        (np.full((8, 8, 3), -5, np.int16), r"int16 image with values -5\.\.-5"),
        (np.zeros((8, 8, 5), np.uint8), r"expected an H x W x 3 image, got shape \(8, 8, 5\)"),
    ],
    ids=["float above 255", "NaN", "negative", "five channels"],
)
def test_other_pixels_are_refused_with_the_file_named(stored, expected, kaggle_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(kaggle_dir, data)
    np.save(data / "train" / "img" / "train_3.npy", stored)
    with pytest.raises(DataError, match=r"train_3\.npy: " + expected):
        read_kaggle(data, "train")


# --- a trained run and data in other layouts ---------------------------------------------------


@pytest.fixture(scope="module")
def trained(kaggle_dir, tmp_path_factory):
    """A tiny run trained on the Kaggle layout."""
    return vv.train(kaggle_dir, tmp_path_factory.mktemp("run") / "r", tiny_config(), progress=False)


def test_the_same_images_in_the_voc_layout_with_another_ignore_value_are_accepted(
    trained, kaggle_dir, tmp_path, caplog
):
    truth = read_kaggle(kaggle_dir, "truth")
    write_voc(truth, tmp_path / "voc", "val")
    spec = json.loads((tmp_path / "voc" / "labelmap.json").read_text())
    (tmp_path / "voc" / "labelmap.json").write_text(json.dumps({**spec, "ignore_index": None}))
    images = trained.images("val", data=tmp_path / "voc")
    assert images.ids == truth.ids and "the masks are compatible" in caplog.text
    swapped = {**spec, "values": [0, 2, 1, 3, 4, 5]}  # a real difference: disc is 2 here
    (tmp_path / "voc" / "labelmap.json").write_text(json.dumps(swapped))
    with pytest.raises(RunFolderError, match=r"voc: mask values .* differ from the run's"):
        trained.images("val", data=tmp_path / "voc")


def test_predict_on_a_plain_folder_of_images(trained, tmp_path, monkeypatch, capsys):
    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), np.uint8)).save(tmp_path / "photos" / "a.jpg")
    Image.fromarray(rng.integers(0, 65535, (30, 20), np.uint16)).save(tmp_path / "photos" / "b.png")
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    args = ["predict", trained.root, "--data", tmp_path / "photos", "--masks-dir", tmp_path / "out",
            "--no-tta"]  # fmt: skip
    code, output = run_cli(args, monkeypatch, capsys)
    assert code == 0 and "(2 images)" in output
    masks = {p.name: np.asarray(Image.open(p)) for p in (tmp_path / "out").glob("*.png")}
    assert masks.keys() == {"a.png", "b.png"} and masks["b.png"].shape == (30, 20)
    labels = pd.read_csv(tmp_path / "out" / "labels.csv", keep_default_na=False)
    assert labels["image"].tolist() == ["a.png", "b.png"]
    assert all(set(v.split()) <= set(trained.classes) for v in labels["labels"])


def test_predictions_of_another_run_are_refused_before_writing(trained, monkeypatch, capsys):
    trained.predict(split="test", tta=False)
    path = trained.predictions_path("test")
    kept = dict(np.load(path))
    arrays = {**kept, "classes": kept["classes"][:4], "scores": kept["scores"][:, :4],
              "labels": kept["labels"][:, :4]}  # fmt: skip
    np.savez(path, **arrays)
    submission = trained.folder.layout.submission
    submission.write_text("mine")
    code, output = run_cli(["submit", trained.root], monkeypatch, capsys)
    assert code == 2 and f"{path}: not this run's predictions (classes" in output
    assert submission.read_text() == "mine"
    np.savez(path, **kept)


def _limited_train(args: list, limit: int) -> subprocess.CompletedProcess:
    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "vocvision", *map(str, args)]
    env = {**os.environ, "VOCVISION_NO_MALLOC_TUNING": "1", "COLUMNS": "80"}
    return subprocess.run(command, preexec_fn=limit_file_size, capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip


@pytest.mark.parametrize("model", ["classifier", "segmenter"])
def test_a_write_that_fails_midway_is_one_line_and_the_run_stays_whole(model, trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained.root, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    args = ["train", trained.data_dir, "--out", run, "--model", model, "--epochs", "1",
            "--set", f"{model}.image_size=64"]  # fmt: skip
    done = _limited_train(args, 400_000)  # past the logs, short of a model file
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr
    assert re.match(rf"error: {run}/\S+: cannot be written \(.+\); the file is as it was", lines[0])
    after = {p: p.read_bytes() for p in before}
    assert after == before  # every file of the run as it was


def test_the_whole_job_on_a_labels_csv_set_says_what_ran(kaggle_dir, tmp_path):
    convert(kaggle_dir, tmp_path / "csv", to="labels-csv")
    run, score = vv.run(tmp_path / "csv", tmp_path / "run", tiny_config(), budget_s=60)
    stages = {s.name: s for s in run.folder.read_job().stages}
    assert stages["segment"].status == "not asked" and "(no masks)" in stages["segment"].note
    assert stages["classify"].status == stages["predict"].status == "done"
    assert stages["attack"].status == "done" and score is None
    assert run.folder.trained_models(run.info) == ("classifier",)
    page = run.folder.layout.report.read_text()
    assert "vocvision trained a multi-label classifier on" in page
    assert (
        "No segmenter: the data has image labels only (no masks), so segmentation was not "
        "asked for." in page
    )
    assert "No submission.csv" in page

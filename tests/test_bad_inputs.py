"""Bad input stops before any work with one line naming the file and the problem (exit 2),
and nothing is read wrong in silence."""

from __future__ import annotations

import errno
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from vocvision import RunConfig
from vocvision.cli import main as cli_main
from vocvision.config import ConfigError
from vocvision.data import DataError, convert, read_coco, read_kaggle, read_voc, write_voc
from vocvision.data.synthetic import make_synthetic
from vocvision.inference import LabellingRule
from vocvision.submission import ScoreError, score_submission, write_submission


def run_cli(args, monkeypatch, capsys) -> tuple[int, str]:
    """`vocvision ARGS` in this process: (exit status, what it printed, on one line)."""
    monkeypatch.setenv("VOCVISION_NO_MALLOC_TUNING", "1")
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr("sys.argv", ["vocvision", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        cli_main()
    out = capsys.readouterr()
    code = exit_info.value.code
    return (0 if code is None else code), " ".join((out.out + out.err).split())


@pytest.fixture
def kaggle_copy(kaggle_dir, tmp_path):
    shutil.copytree(kaggle_dir, tmp_path / "data")
    return tmp_path / "data"


# --- settings outside their range ------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--epochs", "0", "classifier.epochs must be >= 1, got 0"),
        ("--max-train-images", "0", "max_train_images must be >= 2, got 0"),
        ("--devices", "0", "devices must be 'auto' or a count >= 1"),
        ("--seed", "-1", "seed must be >= 0"),
    ],
)
def test_out_of_range_settings_stop_with_the_allowed_range(
    option, value, expected, kaggle_dir, tmp_path, monkeypatch, capsys
):
    code, output = run_cli(
        ["train", kaggle_dir, "--out", tmp_path, option, value], monkeypatch, capsys
    )
    assert code == 2 and expected in output and "Traceback" not in output
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize("threshold", [2, -0.1, float("nan")])
def test_a_threshold_outside_0_1_is_refused(threshold):
    with pytest.raises(ValueError, match=r"a threshold must be a number in 0\.\.1"):
        LabellingRule().with_threshold(threshold)
    with pytest.raises(ConfigError, match=r"classifier\.threshold"):
        RunConfig().set(f"classifier.threshold={threshold}").validate()


def test_a_broken_config_file_is_named(tmp_path, kaggle_dir, monkeypatch, capsys):
    path = tmp_path / "config.json"
    path.write_text('{"seed": 1, "classifier": {')
    code, output = run_cli(["train", kaggle_dir, "--config-file", path], monkeypatch, capsys)
    assert code == 2 and f"{path}: not a JSON configuration file" in output
    path.write_text(json.dumps({"segmenter": {"colour": "red"}}))
    code, output = run_cli(["train", kaggle_dir, "--config-file", path], monkeypatch, capsys)
    assert code == 2 and "unknown setting 'segmenter.colour'" in output


# --- data files -------------------------------------------------------------------------------


def test_zero_byte_and_corrupt_arrays_are_named(kaggle_copy, monkeypatch, capsys):
    image = kaggle_copy / "train" / "img" / "train_3.npy"
    image.write_bytes(b"")
    code, output = run_cli(["train", kaggle_copy], monkeypatch, capsys)
    assert code == 2 and f"{image}: empty file (0 bytes)" in output
    image.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match=r"train_3\.npy: unreadable \.npy file"):
        read_kaggle(kaggle_copy, "train")


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path, caplog):
    images = make_synthetic(2, seed=0, size=(32, 40))
    write_voc(images, tmp_path, "train")
    height, width = images.samples[0].image.shape[:2]
    grey = (np.arange(height * width).reshape(height, width) * 50 % 65536).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "JPEGImages" / "0.png")  # an I;16 PNG
    (tmp_path / "JPEGImages" / "0.jpg").unlink()
    with caplog.at_level("WARNING"):
        read = read_voc(tmp_path, "train").samples[0].image
    assert read.dtype == np.uint8 and read.shape == (height, width, 3)
    assert np.array_equal(read[..., 0], np.round(grey / 257).astype(np.uint8))
    said = f"{tmp_path / 'JPEGImages'}: 1 image(s) of 16 bits, scaled to 8 bits"
    assert 0 < read.mean() < 255 and said in caplog.text


def test_sixteen_bit_and_wide_integer_arrays(kaggle_copy):
    path = kaggle_copy / "train" / "img" / "train_0.npy"
    original = np.load(path)
    np.save(path, original.astype(np.uint16) * 257)
    assert np.array_equal(read_kaggle(kaggle_copy, "train").samples[0].image, original)
    np.save(path, original.astype(np.int32) * 1000)
    wide = r"train_0\.npy: int32 image with values \d+\.\.\d+, outside 0\.\.255"
    with pytest.raises(DataError, match=wide):
        read_kaggle(kaggle_copy, "train")


def test_voc_mask_values_outside_the_labelmap_are_reported_as_found(tmp_path):
    images = make_synthetic(2, seed=0, size=(32, 40))
    write_voc(images, tmp_path, "train")
    png = tmp_path / "SegmentationClass" / "0.png"
    with Image.open(png) as mask:
        values = np.asarray(mask).copy()
        palette = mask.getpalette()
    values[:2, :2] = 50
    out = Image.fromarray(values, mode="P")
    out.putpalette(palette)
    out.save(png)
    with pytest.raises(DataError, match=r"0\.png: mask values \[50\] outside the labelmap"):
        read_voc(tmp_path, "train")


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"classes": ["background", "a", "a"]}, r"class names listed more than once: \['a'\]"),
        ({"ignore_index": 1}, r"ignore_index 1 is also the index of class 'disc'"),
        ({"ignore_index": 300}, r"ignore_index 300 is not an 8-bit mask value"),
        ({"background": "0"}, r"'background' must be an integer index or null, got '0'"),
        ({"classes": []}, r"'classes' must be a non-empty list of names"),
    ],
    ids=["repeated class", "ignore is a class", "ignore past 255", "text index", "no classes"],
)
def test_contradictory_labelmaps_are_refused(change, expected, tmp_path):
    write_voc(make_synthetic(2, seed=0, size=(32, 40)), tmp_path, "train")
    labelmap = tmp_path / "labelmap.json"
    labelmap.write_text(json.dumps({**json.loads(labelmap.read_text()), **change}))
    with pytest.raises(DataError, match="labelmap.json: " + expected):
        read_voc(tmp_path, "train")


def test_an_id_listed_twice_is_refused(tmp_path):
    # Listed twice, an image could land in both the training and the validation part.
    write_voc(make_synthetic(3, seed=0, size=(32, 40)), tmp_path, "train")
    listing = tmp_path / "ImageSets" / "Segmentation" / "train.txt"
    listing.write_text(listing.read_text() + "\n1\n")
    with pytest.raises(DataError, match=r"train\.txt: ids listed more than once: \['1'\]"):
        read_voc(tmp_path, "train")


def test_a_voc_training_image_without_mask_is_named(tmp_path, monkeypatch, capsys):
    write_voc(make_synthetic(8, seed=0, size=(32, 40)), tmp_path, "train")
    (tmp_path / "SegmentationClass" / "3.png").unlink()
    code, output = run_cli(["train", tmp_path, "--out", tmp_path / "run"], monkeypatch, capsys)
    assert code == 2 and "training image 3 has no mask (so no labels)" in output


def _coco(tmp_path, annotations) -> tuple:
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(folder / "a.png")
    spec = {
        "images": [{"id": 1, "file_name": "a.png", "height": 20, "width": 30}],
        "categories": [{"id": 1, "name": "roof"}],
        "annotations": annotations,
    }
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps(spec))
    return path, folder


def test_coco_annotations_with_missing_or_degenerate_polygons_are_skipped(tmp_path, caplog):
    good = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 10, 2, 10, 8]]}
    broken = [
        {"id": 2, "image_id": 1, "category_id": 1},  # no segmentation
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": None},
        {"id": 4, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 5]]},  # 2 points
        {"id": 5, "image_id": 1, "category_id": 1, "segmentation": []},
        {
            "id": 6,
            "image_id": 1,
            "category_id": 1,
            "segmentation": {"size": [5, 5], "counts": "abc"},
        },
        {"id": 7, "category_id": 1, "segmentation": [[0, 0, 3, 0, 3, 3]]},  # no image
    ]
    path, folder = _coco(tmp_path, [good, *broken])
    with caplog.at_level("WARNING"):
        images = read_coco(path, folder)
    assert images.samples[0].mask.sum() > 0 and images.samples[0].labels.tolist() == [1]
    assert caplog.text.count("skipped") >= 5


# --- submissions ------------------------------------------------------------------------------


@pytest.fixture
def truth(kaggle_dir):
    return kaggle_dir / "truth"


def _perfect(truth_dir, path):
    truth = read_kaggle(truth_dir.parent, "truth")
    write_submission(path, truth.ids, truth.label_matrix(), [s.mask for s in truth.samples], 5)
    return path


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty file (0 bytes)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8 text"),
        ("Id,Predicted\n1_classification,caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
        (b"id,prediction\n1_classification,1 1\n", "header must be 'Id,Predicted'"),
    ],
)
def test_malformed_submission_files_are_named(content, expected, truth, tmp_path):
    path = tmp_path / "submission.csv"
    path.write_bytes(content)
    with pytest.raises(ScoreError, match=re.escape(expected)):
        score_submission(path, truth)


def test_score_validates_first(truth, tmp_path, monkeypatch, capsys):
    perfect = _perfect(truth, tmp_path / "perfect.csv")
    assert score_submission(perfect, truth).overall == 1.0
    lines = perfect.read_text().splitlines()
    for name, edit, expected in (
        ("duplicate", lambda ls: [*ls, ls[1]], "duplicated ids"),
        ("extra", lambda ls: [*ls, "999_classification,1 1"], "unexpected rows"),
        ("past_end", lambda ls: [ls[0], ls[1].split(",")[0] + ",1 6", *ls[2:]], "past the 5"),
        (
            "huge",
            lambda ls: [ls[0], ls[1].split(",")[0] + ",1 " + "9" * 40, *ls[2:]],
            "larger than any array",
        ),
    ):
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(edit(list(lines))) + "\n")
        with pytest.raises(ScoreError, match=expected):
            score_submission(path, truth)
        code, output = run_cli(["score", path, "--truth", truth], monkeypatch, capsys)
        assert code == 2 and str(path) in output and expected in output


def test_scoring_a_huge_claimed_run_costs_no_memory(truth, tmp_path):
    """Against a bare solution.csv (no sizes to check against), a run claiming 10^11 pixels is
    scored on the runs, never decoded."""
    perfect = _perfect(truth, tmp_path / "perfect.csv").read_text().splitlines()
    row = perfect[2].split(",")[0]
    perfect[2] = f"{row},1 100000000000"
    path = tmp_path / "huge.csv"
    path.write_text("\n".join(perfect) + "\n")
    score = score_submission(path, truth / "solution.csv")
    assert 0 <= score.overall < 1


# --- files the system refuses ------------------------------------------------------------------


def test_permission_denied_is_one_line(kaggle_dir, monkeypatch, capsys):
    code, output = run_cli(
        ["train", kaggle_dir, "--out", "/sys/vocvision-run"], monkeypatch, capsys
    )
    assert code == 2 and "/sys/vocvision-run" in output and "not permitted" in output


@pytest.mark.parametrize("number, reason", [(errno.EROFS, "Read-only file system"),
                                            (errno.ENOSPC, "No space left on device")])  # fmt: skip
def test_read_only_and_full_disks_are_one_line(number, reason, kaggle_dir, tmp_path, monkeypatch,
                                               capsys):  # fmt: skip
    import vocvision.fileio as fileio

    def refuse(*args, **kwargs):
        raise OSError(number, reason, str(tmp_path / "out" / "x"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    code, output = run_cli(["synthesize", tmp_path / "out", "--train-images", "4"], monkeypatch,
                           capsys)  # fmt: skip
    assert code == 2 and f"{tmp_path / 'out' / 'x'}: {reason}" in output


def test_a_path_that_is_not_utf8_is_printed_escaped(tmp_path, monkeypatch, capsys):
    folder = str(tmp_path) + "/data-\udcff"  # the byte 0xff as Python keeps it
    code, output = run_cli(["train", folder], monkeypatch, capsys)
    assert code == 2 and "data-\\udcff" in output and "neither a Kaggle layout" in output


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "--set", "classifier.backbone=nope"], "classifier: unknown backbone 'nope'"),
        (["run", "--only", ""], "--only takes parts among classify,segment,baselines,attack"),
    ],
    ids=["unknown backbone", "empty --only"],
)
def test_a_command_refused_at_once_leaves_no_run_folder(
    args, expected, kaggle_dir, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "new"
    code, output = run_cli([args[0], kaggle_dir, "--out", out, *args[1:]], monkeypatch, capsys)
    assert code == 2 and expected in output and not out.exists()


def test_the_data_folder_is_never_the_run_folder(kaggle_copy, monkeypatch, capsys):
    before = sorted(p.name for p in kaggle_copy.iterdir())
    code, output = run_cli(["train", kaggle_copy, "--out", kaggle_copy], monkeypatch, capsys)
    assert code == 2 and "the run folder would be the data folder" in output
    assert sorted(p.name for p in kaggle_copy.iterdir()) == before


def test_convert_writes_a_new_folder_whole_or_not_at_all(tmp_path):
    voc = tmp_path / "voc"
    write_voc(make_synthetic(4, seed=0, size=(32, 40)), voc, "train")
    with pytest.raises(DataError, match=r"voc: the converted dataset must go outside"):
        convert(voc, voc)
    with pytest.raises(DataError, match=r"must go outside"):
        convert(voc, voc / "kaggle")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"full: exists and is not an empty folder"):
        convert(voc, tmp_path / "full")
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
    # No 'val' split: the conversion fails halfway, and leaves nothing behind.
    with pytest.raises(DataError, match=r"split 'val' not found"):
        convert(voc, tmp_path / "kaggle")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "voc"]


def test_a_failure_after_writing_keeps_the_log(kaggle_dir, tmp_path, monkeypatch, capsys):
    def failing_labelling(*args, **kwargs):
        raise DataError("the labelling failed")

    monkeypatch.setattr("vocvision.api.trained_run.choose_labelling", failing_labelling)
    out = tmp_path / "new"
    args = ["train", kaggle_dir, "--out", out, "--model", "classifier", "--set",
            "classifier.image_size=64"]  # fmt: skip
    code, output = run_cli(args, monkeypatch, capsys)
    assert code == 2 and "the labelling failed" in output
    assert (out / "classifier" / "model.safetensors").is_file()  # written before it failed
    assert len(list((out / "logs").glob("train-*.log"))) == 1

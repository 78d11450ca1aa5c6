import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vocvision.data import (
    DataError,
    convert,
    make_synthetic,
    read_kaggle,
    read_voc,
    stratified_split,
    write_kaggle,
    write_voc,
)
from vocvision.data.labelmap import voc_palette
from vocvision.data.synthetic import SYNTHETIC_CLASSES


def _same_samples(a, b, exact_images=True):
    assert a.classes == b.classes and a.ids == b.ids
    for x, y in zip(a.samples, b.samples, strict=True):
        assert np.array_equal(x.mask, y.mask) and np.array_equal(x.labels, y.labels)
        if exact_images:
            assert np.array_equal(x.image, y.image)
        else:  # JPEG quality 95 on noisy synthetic textures
            assert np.abs(x.image.astype(int) - y.image.astype(int)).mean() < 5


def test_synthetic_is_deterministic_and_consistent():
    a, b = make_synthetic(5, seed=3), make_synthetic(5, seed=3)
    _same_samples(a, b)
    assert not np.array_equal(a.samples[0].image, make_synthetic(5, seed=4).samples[0].image)
    for s in a.samples:
        present = set(np.unique(s.mask)) - {0}
        assert present == {k + 1 for k in np.flatnonzero(s.labels)}
        assert s.image.shape[:2] == s.mask.shape and s.image.dtype == np.uint8
    assert a.num_classes == len(SYNTHETIC_CLASSES)


def test_kaggle_round_trip(tmp_path):
    images = make_synthetic(4, seed=0, size=(32, 40))
    write_kaggle(images, tmp_path, "train")
    _same_samples(images, read_kaggle(tmp_path, "train"))
    header = (tmp_path / "train" / "train_set.csv").read_text().splitlines()[0]
    assert header == "Id," + ",".join(SYNTHETIC_CLASSES)
    write_kaggle(images, tmp_path, "test", hide_labels=True)
    test = read_kaggle(tmp_path, "test")
    assert all(s.labels is None and s.mask is None for s in test.samples)
    assert (pd.read_csv(tmp_path / "test" / "test_set.csv").iloc[:, 1:] == -1).all().all()


def test_voc_round_trip_and_convert(tmp_path):
    images = make_synthetic(6, seed=0, size=(32, 40))
    write_voc(images, tmp_path / "voc", "train")
    write_voc(images.subset([0, 1]), tmp_path / "voc", "val")
    with Image.open(tmp_path / "voc" / "SegmentationClass" / "0.png") as png:
        assert png.mode == "P"
    _same_samples(images, read_voc(tmp_path / "voc", "train"), exact_images=False)
    assert convert(tmp_path / "voc", tmp_path / "kaggle") == "kaggle"
    assert (tmp_path / "kaggle" / "truth" / "solution.csv").is_file()
    assert read_kaggle(tmp_path / "kaggle", "test").samples[0].labels is None
    assert convert(tmp_path / "kaggle", tmp_path / "voc2") == "voc"
    back = read_voc(tmp_path / "voc2", "train")
    assert back.classes == images.classes
    for x, y in zip(images.samples, back.samples, strict=True):
        assert np.array_equal(x.mask, y.mask)
    assert read_voc(tmp_path / "voc2", "test").ids == ["0", "1"]


def test_voc_without_background_keeps_class_indices(tmp_path):
    root = tmp_path / "camvid_like"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("a\n")
    (root / "labelmap.json").write_text(
        json.dumps({"classes": ["sky", "road"], "background": None, "ignore_index": 255})
    )
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "JPEGImages" / "a.jpg")
    mask = np.array([[0, 1, 255, 0]] * 4, np.uint8)
    Image.fromarray(mask, mode="L").save(root / "SegmentationClass" / "a.png")
    images = read_voc(root, "train")
    assert images.classes == ["sky", "road"] and not images.has_background
    assert images.samples[0].mask[0].tolist() == [1, 2, 255, 1]
    write_voc(images, tmp_path / "out", "train")
    with Image.open(tmp_path / "out" / "SegmentationClass" / "a.png") as png:
        assert np.array_equal(np.asarray(png), mask)


def test_voc_palette_masks_with_borders_read_as_indices(tmp_path):
    """A VOC devkit folder as PASCAL ships it: no labelmap (the 21 VOC classes), palette PNGs
    whose indices are the classes, objects outlined in 255 (void)."""
    mask = np.zeros((40, 60), dtype=np.uint8)
    mask[5:30, 10:40] = 15  # person
    mask[4, 9:41] = mask[30, 9:41] = 255  # the void border around it
    mask[20:35, 45:58] = 1  # aeroplane
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "SegmentationClass").mkdir()
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(tmp_path / "JPEGImages" / "a.jpg")
    png = Image.fromarray(mask, mode="P")
    png.putpalette(voc_palette())
    png.save(tmp_path / "SegmentationClass" / "a.png")
    (tmp_path / "ImageSets" / "Segmentation" / "train.txt").write_text("a\n")
    images = read_voc(tmp_path, "train")
    assert images.num_classes == 20 and images.classes[0] == "aeroplane"
    sample = images.samples[0]
    assert set(np.unique(sample.mask).tolist()) == {0, 1, 15, 255}
    assert sample.labels.nonzero()[0].tolist() == [0, 14]  # aeroplane, person
    assert sample.mask.shape == sample.image.shape[:2]


def test_stratified_split_keeps_label_balance():
    images = make_synthetic(60, seed=0, size=(24, 24))
    train, val = stratified_split(images, 0.25, seed=0)
    assert len(val) == 15 and set(train.ids).isdisjoint(val.ids)
    share = images.label_matrix().mean(0)
    assert np.abs(val.label_matrix().mean(0) - share).max() < 0.12


# --- bad input: a clear error naming the file and the problem ---------------------------


@pytest.fixture
def kaggle_copy(tmp_path):
    write_kaggle(make_synthetic(3, seed=0, size=(20, 24)), tmp_path, "train")
    return tmp_path


def test_missing_image_file(kaggle_copy):
    (kaggle_copy / "train" / "img" / "train_1.npy").unlink()
    with pytest.raises(DataError, match=r"train_1\.npy: file not found"):
        read_kaggle(kaggle_copy, "train")


def test_unreadable_image_file(kaggle_copy):
    (kaggle_copy / "train" / "img" / "train_1.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"train_1\.npy: unreadable"):
        read_kaggle(kaggle_copy, "train")


def test_mask_size_mismatch(kaggle_copy):
    np.save(kaggle_copy / "train" / "seg" / "train_2.npy", np.zeros((5, 5), np.uint8))
    with pytest.raises(DataError, match=r"train_2\.npy: mask size 5x5 does not match"):
        read_kaggle(kaggle_copy, "train")


def test_mask_values_out_of_range(kaggle_copy):
    image = np.load(kaggle_copy / "train" / "img" / "train_0.npy")
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[0, 0] = 9
    np.save(kaggle_copy / "train" / "seg" / "train_0.npy", mask)
    with pytest.raises(DataError, match=r"train_0\.npy: mask values \[9\] outside"):
        read_kaggle(kaggle_copy, "train")


def test_csv_without_id_column(kaggle_copy):
    (kaggle_copy / "train" / "train_set.csv").write_text("image,disc\n0,1\n")
    with pytest.raises(DataError, match=r"train_set\.csv: header has no 'Id'"):
        read_kaggle(kaggle_copy, "train")


def test_csv_id_without_image(kaggle_copy):
    csv = kaggle_copy / "train" / "train_set.csv"
    csv.write_text(csv.read_text() + "99,0,0,0,0,1\n")
    with pytest.raises(DataError, match=r"train_99\.npy: file not found"):
        read_kaggle(kaggle_copy, "train")


def test_csv_bad_label_values(kaggle_copy):
    (kaggle_copy / "train" / "train_set.csv").write_text("Id,disc\n0,1\n1,7\n")
    with pytest.raises(DataError, match=r"train_set\.csv: id 1, column 'disc' holds 7; label"):
        read_kaggle(kaggle_copy, "train")
    (kaggle_copy / "train" / "train_set.csv").write_text("Id,disc\n0,yes\n1,\n")
    with pytest.raises(DataError, match=r"id 0, column 'disc' holds 'yes'; label columns must"):
        read_kaggle(kaggle_copy, "train")


def test_empty_splits(kaggle_copy, tmp_path):
    (kaggle_copy / "train" / "train_set.csv").write_text("Id,disc\n")
    with pytest.raises(DataError, match="empty split"):
        read_kaggle(kaggle_copy, "train")
    voc = tmp_path / "voc"
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc / "JPEGImages").mkdir()
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("\n")
    with pytest.raises(DataError, match=r"train\.txt: empty split"):
        read_voc(voc, "train")
    with pytest.raises(DataError, match="split 'val' not found"):
        read_voc(voc, "val")


def test_grayscale_rgba_and_palette_images_become_rgb(tmp_path, caplog):
    root = tmp_path / "voc"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("g\nr\np\n")
    Image.fromarray(np.full((4, 5), 100, np.uint8), mode="L").save(root / "JPEGImages" / "g.png")
    Image.fromarray(np.full((4, 5, 4), 50, np.uint8), mode="RGBA").save(
        root / "JPEGImages" / "r.png"
    )
    palette = Image.fromarray(np.ones((4, 5), np.uint8), mode="P")
    palette.putpalette(voc_palette())
    palette.save(root / "JPEGImages" / "p.png")
    with caplog.at_level("INFO"):
        images = read_voc(root, "train")
    for s in images.samples:
        assert s.image.shape == (4, 5, 3) and s.image.dtype == np.uint8
    assert images.samples[2].image[0, 0].tolist() == [128, 0, 0]  # palette colour 1
    assert "converted to RGB" in caplog.text


def test_rgb_mask_png_is_rejected(tmp_path):
    images = make_synthetic(1, seed=0, size=(20, 20))
    write_voc(images, tmp_path, "train")
    Image.fromarray(np.zeros(((*images.samples[0].mask.shape, 3)), np.uint8)).save(
        tmp_path / "SegmentationClass" / "0.png"
    )
    with pytest.raises(DataError, match=r"0\.png: mask is a RGB image"):
        read_voc(tmp_path, "train")

"""Segmentation: losses, label setups, augmentation, schedules, tiled/TTA inference, metrics,
COCO input."""

from __future__ import annotations

import dataclasses
import json

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import vocvision as vv
from vocvision.config import ConfigError, RunConfig
from vocvision.data import DataError, ImageSet, Sample, read_coco, read_split, write_voc
from vocvision.data.augmentation import to_tensors, train_transform
from vocvision.inference import predict_masks
from vocvision.inference.view_budget import Views, affordable_views, cheaper_views
from vocvision.metrics import segmentation_metrics
from vocvision.model_config import TaskConfig
from vocvision.models import Segmenter
from vocvision.models.segmenter import ABSENT_LOGIT
from vocvision.tasks import SegmentationTask, build_task
from vocvision.tasks.losses import SegmentationLoss, pixel_class_weights
from vocvision.training import TaskModule
from vocvision.training.loaders import ImageSetDataModule

IGNORE = 255


# --- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("terms", ["ce", "focal", "dice", "ce+dice"])
def test_ignored_pixels_change_no_loss(terms):
    torch.manual_seed(0)
    masks = torch.randint(0, 3, (2, 8, 8))
    masks[:, :, :3] = IGNORE
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    loss = SegmentationLoss(terms, (1.0,) * len(terms.split("+")))
    loss(logits, masks).backward()
    assert logits.grad[..., :3].abs().max() == 0  # no gradient reaches ignored pixels
    assert logits.grad[..., 3:].abs().max() > 0
    changed = logits.detach().clone()
    changed[..., :3] = torch.randn(2, 3, 8, 3) * 10
    assert torch.isclose(loss(changed, masks), loss(logits.detach(), masks))


def test_combo_loss_is_the_weighted_sum_of_its_terms():
    torch.manual_seed(1)
    logits, masks = torch.randn(2, 2, 8, 8), torch.randint(0, 2, (2, 8, 8))
    combo = SegmentationLoss("ce+dice", (0.05, 0.95), binary=True)(logits, masks)
    ce = SegmentationLoss("ce", (1.0,), binary=True)(logits, masks)
    dice = SegmentationLoss("dice", (1.0,), binary=True)(logits, masks)
    assert torch.isclose(combo, 0.05 * ce + 0.95 * dice)
    # Binary Dice is the foreground's soft Dice loss.
    p, t = logits.softmax(1)[:, 1], (masks == 1).float()
    expected = 1 - 2 * (p * t).sum() / (p.sum() + t.sum()).clamp(min=1e-7)
    assert torch.isclose(dice, expected, atol=1e-5)


def test_bad_loss_settings_are_clear_errors():
    with pytest.raises(ValueError, match="joined by"):
        SegmentationLoss("ce+lovasz", (1.0, 1.0))
    with pytest.raises(ConfigError, match="loss_weights"):
        config = RunConfig()
        config.segmenter.loss = "ce+focal+dice"
        config.validate()
    with pytest.raises(ConfigError, match="scheduler"):
        config = RunConfig()
        config.segmenter.scheduler = "linear"
        config.validate()
    with pytest.raises(ConfigError, match="decoder_width must be a multiple of 64"):
        RunConfig().set("segmenter.decoder_width=96").validate()
    for scales in ("[]", "[0, 1]"):
        with pytest.raises(ConfigError, match=r"segmenter\.tta_scales needs at least one"):
            RunConfig().set(f"segmenter.tta_scales={scales}").validate()


def test_class_weights_favour_rare_classes():
    masks = [np.array([[0] * 90 + [1] * 9 + [2]], dtype=np.uint8), np.full((1, 5), IGNORE)]
    weights = pixel_class_weights([m.astype(np.uint8) for m in masks], 4)
    assert weights[0] < weights[1] < weights[2]
    assert weights[3] == 1  # absent class
    assert torch.isclose(weights[:3].mean(), torch.tensor(1.0))
    assert torch.allclose(weights[1] / weights[0], torch.tensor(np.sqrt(90 / 9)).float())


# --- label setups ---------------------------------------------------------------------------


def test_binary_segmenter_has_one_logit_and_ce_is_bce():
    model = Segmenter(1, pretrained="none").eval()
    assert model.binary and model.net.segmentation_head[0].out_channels == 1
    logits = model(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 2, 64, 64) and torch.all(logits[:, 0] == 0)
    masks = torch.randint(0, 2, (2, 64, 64))
    bce = F.binary_cross_entropy_with_logits(logits[:, 1], masks.float())
    assert torch.isclose(F.cross_entropy(logits, masks), bce, atol=1e-6)


def test_background_free_segmenter_never_predicts_background(rng):
    model = Segmenter(3, pretrained="none", background=False)
    assert model.net.segmentation_head[0].out_channels == 3
    logits = model(torch.rand(1, 3, 64, 64))
    assert torch.all(logits[:, 0] == ABSENT_LOGIT)
    images = [rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)]
    assert predict_masks(model, images, 64)[0].min() >= 1


# --- augmentation ---------------------------------------------------------------------------


@pytest.mark.parametrize("augment", ["basic", "strong"])
def test_augmentation_keeps_image_and_mask_aligned(augment):
    mask = np.zeros((96, 128), dtype=np.uint8)
    mask[20:70, 30:90] = 1
    yy, xx = np.mgrid[:96, :128]
    mask[(yy - 60) ** 2 + (xx - 100) ** 2 < 15**2] = 2
    image = np.zeros((96, 128, 3), dtype=np.uint8)
    image[mask == 1] = [255, 0, 0]
    image[mask == 2] = [0, 0, 255]
    transform = train_transform(64, 0.3, augment)
    torch.manual_seed(0)
    for _ in range(20):
        out = to_tensors(Sample("a", image, mask), transform)
        img, m = out["image"], out["mask"]
        assert img.shape == (3, 64, 64) and m.shape == (64, 64) and m.dtype == torch.int64
        assert set(m.unique().tolist()) <= {0, 1, 2, IGNORE}  # nearest: no blended labels
        labelled = m != IGNORE
        red = img[0] > img[1:].max(0).values + 0.2
        blue = img[2] > img[:2].max(0).values + 0.2
        agree = ((red == (m == 1)) & (blue == (m == 2)))[labelled].float().mean()
        assert agree > 0.95, float(agree)


def test_strong_augmentation_marks_uncovered_pixels_ignore():
    mask = np.ones((64, 64), dtype=np.uint8)
    image = np.full((64, 64, 3), 128, dtype=np.uint8)
    transform = train_transform(64, 1.0, "strong")
    torch.manual_seed(0)
    values = set()
    for _ in range(30):
        values |= set(to_tensors(Sample("a", image, mask), transform)["mask"].unique().tolist())
    assert values == {1, IGNORE}


# --- schedules ------------------------------------------------------------------------------


def _tiny_voc_set(n: int = 8, size: int = 32, classes: int = 2) -> ImageSet:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        mask = np.zeros((size, size), dtype=np.uint8)
        mask[: size // 2, : size // 2] = 1 + i % classes
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        labels = np.eye(classes, dtype=np.uint8)[i % classes]
        samples.append(Sample(f"s{i}", image, mask, labels))
    return ImageSet([f"c{k}" for k in range(classes)], samples)


@pytest.mark.parametrize("scheduler", ["onecycle", "sgdr", "plateau"])
def test_schedulers_train_and_move_the_learning_rate(scheduler):
    images = _tiny_voc_set()
    config = RunConfig()
    config.segmenter.pretrained, config.segmenter.scheduler = "none", scheduler
    config.segmenter.restart_epochs, config.segmenter.lr = 1, 1e-2
    task = build_task("segmenter", images.classes, config.for_labels(binary=False))
    module = TaskModule(task, task.build_model(), task.training_loss(images))
    rates = []

    class Record(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            rates.append(trainer.optimizers[0].param_groups[1]["lr"])

    trainer = L.Trainer(max_epochs=4, accelerator="cpu", logger=False, callbacks=[Record()],
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    data = ImageSetDataModule(images, images, TaskConfig(image_size=32, batch_size=4))
    trainer.fit(module, datamodule=data)
    assert len(rates) == 4 and all(np.isfinite(rates))
    if scheduler == "onecycle":
        assert rates[-1] < rates[0] / 10  # anneals to far below the start
    if scheduler == "sgdr":
        assert max(rates) == pytest.approx(1e-2, rel=0.3)  # restarts near the peak each epoch
    if scheduler == "plateau":
        assert rates[-1] <= rates[0]


# --- inference ------------------------------------------------------------------------------


class PixelModel(nn.Module):
    """A pointwise (1x1) segmenter: its output at a pixel depends on that pixel alone, so
    tiling cannot change it. Records the input sizes it sees."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, classes, 1)
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape[-2:]))
        return self.conv(x) * 20


def test_tiled_inference_equals_whole_image_inference(rng):
    images = [rng.integers(0, 256, (150, 230, 3), dtype=np.uint8)]
    model = PixelModel()
    whole = predict_masks(model, images, 150, fast=False, tile=512)[0]
    assert max(max(s) for s in model.seen) > 200
    model.seen.clear()
    tiled = predict_masks(model, images, 150, fast=False, tile=64)[0]
    assert all(max(s) <= 64 for s in model.seen) and len(model.seen) > 4
    assert whole.shape == (150, 230)
    assert np.array_equal(whole, tiled)


def test_inference_keeps_the_aspect_ratio_unless_square(rng):
    images = [rng.integers(0, 256, (40, 80, 3), dtype=np.uint8)]
    model = PixelModel()
    kept = predict_masks(model, images, 64, fast=False)[0]
    squashed = predict_masks(model, images, 64, fast=False, square=True)[0]
    assert model.seen == [(64, 128), (64, 64)]
    assert kept.shape == squashed.shape == (40, 80)


def test_images_of_one_shape_share_a_batch_and_keep_their_order(rng):
    shapes = [(40, 60), (40, 60), (60, 40), (40, 60)]
    images = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in shapes]
    model = PixelModel()
    batched = predict_masks(model, images, 32, fast=False)
    assert len(model.seen) == 3  # two 40x60 images, then one 60x40, then one 40x60
    one_by_one = [predict_masks(model, [image], 32, fast=False)[0] for image in images]
    assert [m.shape for m in batched] == shapes
    assert all(np.array_equal(a, b) for a, b in zip(batched, one_by_one, strict=True))


def test_large_image_is_predicted_in_bounded_tiles():
    image = np.zeros((3000, 4000, 3), dtype=np.uint8)
    image[:, 2000:] = 255
    model = PixelModel(2)
    with torch.no_grad():  # class 1 for bright pixels, class 0 for dark ones
        model.conv.weight.copy_(torch.tensor([-1.0, 1.0]).view(2, 1, 1, 1).expand(2, 3, 1, 1))
        model.conv.bias.copy_(torch.tensor([1.5, -1.5]))
    mask = predict_masks(model, [image], 1500, fast=False, tile=512)[0]
    assert mask.shape == (3000, 4000)
    assert all(max(s) <= 512 for s in model.seen)
    assert (mask[:, :1990] == 0).all() and (mask[:, 2010:] == 1).all()


def test_one_pass_and_banded_resampling_give_the_same_mask(rng):
    from vocvision.inference.resampling import argmax_at

    scores = F.avg_pool2d(torch.from_numpy(rng.normal(size=(1, 5, 40, 60))).float(), 5, 1, 2)
    one_pass = argmax_at(scores[0], (90, 130))
    banded = argmax_at(scores[0], (90, 130), band_pixels=5 * 130 * 7)  # bands of 7 rows
    assert one_pass.shape == (90, 130) and len(np.unique(one_pass)) > 1
    assert (one_pass == banded).mean() > 0.999  # the two resamplers round differently


@pytest.mark.parametrize("arch", ["fpn", "unet", "deeplabv3plus"])
def test_decoder_width_slims_the_decoder_and_keeps_the_output(arch):
    images = torch.rand(1, 3, 64, 64)
    default = Segmenter(3, pretrained="none", arch=arch).eval()  # eval: ASPP pools to 1x1
    slim = Segmenter(3, pretrained="none", arch=arch, decoder_width=64).eval()
    assert slim(images).shape == default(images).shape == (1, 4, 64, 64)
    count = lambda m: sum(p.numel() for p in m.net.decoder.parameters())  # noqa: E731
    assert count(slim) < count(default)


def test_scales_and_flip_tta_run_at_several_sizes(rng):
    images = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)]
    model = PixelModel()
    plain = predict_masks(model, images, 64, fast=False)[0]
    model.seen.clear()
    tta = predict_masks(model, images, 64, fast=False, flip=True, scales=(0.5, 1.0, 1.5))[0]
    assert {s[0] for s in model.seen} == {32, 64, 96}  # three sizes, each padded to /32
    assert len(model.seen) == 6  # and mirrored
    assert tta.shape == plain.shape == (40, 60)
    assert (tta == plain).mean() > 0.8  # a pointwise model barely changes with scale


def test_crf_pulls_noisy_labels_to_the_image_edge(rng):
    from vocvision.inference.crf import crf_log_probabilities

    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, 32:] = 200  # two flat regions: class 0 left, class 1 right
    truth = np.zeros((48, 64), dtype=np.int64)
    truth[:, 32:] = 1
    # Unsure, noisy unaries: right more often than not, with speckles and a soft edge.
    p_right = np.clip(0.5 + 0.15 * (2 * truth - 1) + rng.normal(0, 0.2, truth.shape), 0.05, 0.95)
    log_probs = torch.from_numpy(np.log(np.stack([1 - p_right, p_right]))).float()
    before = (log_probs.argmax(0).numpy() != truth).mean()
    refined = crf_log_probabilities(image, log_probs)
    after = (refined.argmax(0).numpy() != truth).mean()
    assert before > 0.1 and after < before / 5
    assert torch.allclose(refined.exp().sum(0), torch.ones(48, 64), atol=1e-3)
    with pytest.raises(ValueError, match="48x64x3 uint8"):
        crf_log_probabilities(image[:40], log_probs)


def test_crf_in_predict_masks_keeps_the_original_resolution(rng):
    images = [rng.integers(0, 256, (50, 70, 3), dtype=np.uint8) for _ in range(2)]
    masks = predict_masks(PixelModel(), images, 64, fast=False, crf=True)
    assert [m.shape for m in masks] == [(50, 70), (50, 70)]


# --- metrics --------------------------------------------------------------------------------


def test_segmentation_metrics_on_hand_made_masks():
    truth = np.array([[0, 0, 1, 1], [2, 2, 1, IGNORE]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1], [2, 0, 1, 2]], dtype=np.uint8)
    m = segmentation_metrics([pred], [truth], 2)
    # class 0: truth {a, b}, pred {a, f} -> IoU 1/3; class 1: truth 3, pred 4, inter 3 -> 3/4;
    # class 2: truth 2, pred 1 (ignore pixel skipped), inter 1 -> 1/2.
    assert np.allclose(m["per_class_iou"], [1 / 3, 3 / 4, 1 / 2])
    assert np.allclose(m["per_class_dice"], [2 * 1 / 4, 2 * 3 / 7, 2 * 1 / 3])
    assert m["mIoU"] == pytest.approx(np.mean([1 / 3, 3 / 4, 1 / 2]))
    assert m["pixel_accuracy"] == pytest.approx(5 / 7)
    no_background = segmentation_metrics([pred], [truth], 2, background=False)
    assert no_background["mIoU"] == pytest.approx(np.mean([3 / 4, 1 / 2]))


def test_binary_metrics():
    truth = np.array([[1, 1, 1, 0], [0, 0, 0, 0]], dtype=np.uint8)
    pred = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], dtype=np.uint8)
    m = segmentation_metrics([pred], [truth], 1)
    assert m["dice"] == pytest.approx(2 * 2 / (3 + 3))
    assert m["iou"] == pytest.approx(2 / 4)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)


# --- COCO -----------------------------------------------------------------------------------


def _write_coco(root, split="train") -> None:
    """Two 40x60 images: a polygon 'building' and a crowd-RLE 'tree' on the first, nothing
    on the second (all background)."""
    from pycocotools import mask as mask_utils

    folder = root / split / "images"
    folder.mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(folder / name)
    crowd = np.zeros((40, 60), dtype=np.uint8, order="F")
    crowd[25:35, 40:55] = 1
    rle = mask_utils.encode(crowd)
    spec = {
        "images": [
            {"id": 1, "file_name": "a.png", "height": 40, "width": 60},
            {"id": 2, "file_name": "b.png", "height": 40, "width": 60},
        ],
        "categories": [{"id": 100, "name": "building"}, {"id": 7, "name": "tree"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 100, "iscrowd": 0, "area": 200,
             "segmentation": [[10, 5, 30, 5, 30, 15, 10, 15]], "bbox": [10, 5, 20, 10]},
            {"id": 2, "image_id": 1, "category_id": 7, "iscrowd": 1, "area": 150,
             "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
             "bbox": [40, 25, 15, 10]},
        ],
    }  # fmt: skip
    (root / split / "annotation.json").write_text(json.dumps(spec))


def test_coco_polygons_and_crowd_rle_become_masks(tmp_path):
    _write_coco(tmp_path)
    images = read_split(tmp_path, "train")  # detected as COCO
    assert images.classes == ["tree", "building"]  # category-id order: 7, 100
    a, b = images.samples
    assert (a.mask[7:13, 12:28] == 2).all()  # polygon interior -> building (class 2)
    assert (a.mask[25:35, 40:55] == 1).all()  # crowd RLE -> tree (class 1)
    assert (a.mask[:, :5] == 0).all() and (b.mask == 0).all()
    assert a.labels.tolist() == [1, 1] and b.labels.tolist() == [0, 0]
    binary = read_coco(tmp_path / "train" / "annotation.json", tmp_path / "train" / "images",
                       binary="building")  # fmt: skip
    assert binary.classes == ["building"]
    assert set(np.unique(binary.samples[0].mask)) == {0, 1}
    assert (binary.samples[0].mask[25:35, 40:55] == 0).all()  # the tree is background now


def test_coco_errors_name_the_file(tmp_path):
    _write_coco(tmp_path)
    annotation = tmp_path / "train" / "annotation.json"
    with pytest.raises(DataError, match="unknown categories"):
        read_coco(annotation, tmp_path / "train" / "images", categories=["car"])
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "train" / "images" / "b.png")
    with pytest.raises(DataError, match=r"b\.png: image is 10x10"):
        read_split(tmp_path, "train")
    annotation.write_text("[1, 2]")
    with pytest.raises(DataError, match=r"annotation\.json: not a COCO"):
        read_split(tmp_path, "train")


def test_auto_architecture_and_epochs_follow_the_labels():
    config = RunConfig()
    assert (config.segmenter.arch, config.segmenter.epochs) == ("auto", None)
    multiclass, binary = config.for_labels(binary=False), config.for_labels(binary=True)
    assert (multiclass.segmenter.arch, multiclass.segmenter.epochs) == ("fpn", 30)
    assert (binary.segmenter.arch, binary.segmenter.epochs) == ("unet", 32)
    config.segmenter.arch = "deeplabv3plus"
    assert config.for_labels(binary=True).segmenter.arch == "deeplabv3plus"
    # The dense CRF: on for multi-class sets with background, off for binary and CamVid-like.
    assert multiclass.segmenter.crf and not binary.segmenter.crf
    assert not config.for_labels(binary=False, background=False).segmenter.crf
    # The loss follows the CRF: OHEM where no CRF runs, unless the user chose a loss.
    assert multiclass.segmenter.loss == "ce+dice" and binary.segmenter.loss == "ohem+dice"
    assert config.for_labels(binary=False, background=False).segmenter.loss == "ohem+dice"
    config.segmenter.crf = False
    assert not config.for_labels(binary=False).segmenter.crf
    assert config.for_labels(binary=False).segmenter.loss == "ohem+dice"
    config.segmenter.loss = "focal+dice"
    assert config.for_labels(binary=True).segmenter.loss == "focal+dice"
    with pytest.raises(ValueError, match="settle it with for_labels"):
        build_task("segmenter", ["c0"], RunConfig()).training_loss()
    settled = RunConfig().set("segmenter.pretrained=none").for_labels(binary=False)
    task = build_task("segmenter", ["c0", "c1"], settled)
    assert isinstance(task, SegmentationTask)
    assert type(task.build_model().net).__name__ == "FPN"


def test_binary_coco_set_trains_predicts_and_submits(tmp_path):
    """A one-category COCO folder: the segmenter trains in binary mode (one logit) and the
    pipeline predicts and writes a valid submission for the val split."""
    _write_coco(tmp_path / "coco", "train")
    _write_coco(tmp_path / "coco", "val")
    voc = tmp_path / "voc"
    from vocvision.data import convert

    assert convert(tmp_path / "coco", voc, binary="building") == "voc"
    train = read_split(voc, "train")
    assert train.classes == ["building"]
    copies = [dataclasses.replace(s, id=f"{s.id}{k}") for k in range(4) for s in train.samples]
    write_voc(ImageSet(train.classes, copies), voc, "train")  # 8 training images
    config = RunConfig()
    config.segmenter.pretrained, config.segmenter.epochs = "none", 1
    config.segmenter.image_size, config.segmenter.batch_size = 64, 4
    config.classifier.threshold = 0.5
    run = vv.train(voc, tmp_path / "run", config, models=("segmenter",), progress=False)
    model = run.models.segmenter.model
    assert model.binary and model.init_args["background"]
    saved = vv.Run.load(tmp_path / "run").config.segmenter
    assert type(model.net).__name__ == "Unet"  # arch="auto" on a binary set
    assert (saved.arch, saved.epochs) == ("unet", 1)  # the epochs the user gave stay
    predictions = run.predict(split="test")  # the VOC folder's val split
    assert [m.shape for m in predictions.masks] == [(40, 60), (40, 60)]
    assert set(np.unique(np.concatenate(predictions.masks))) <= {0, 1}
    assert run.submit().path.is_file()


def test_training_validation_miou_is_the_evaluation_steps_on_the_same_masks(tmp_path):
    from vocvision.data import labels_from_mask
    from vocvision.evaluation.mask_report import segmentation_scores
    from vocvision.figures import FigureFolder

    images = _tiny_voc_set(8, 32, 2)
    L.seed_everything(0, verbose=False)
    config = RunConfig().set("segmenter.pretrained=none").for_labels(binary=False)
    task = build_task("segmenter", images.classes, config)
    module = TaskModule(task, task.build_model(), task.training_loss(images))
    data = ImageSetDataModule(images, images, TaskConfig(image_size=32, batch_size=4))
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    logged = trainer.validate(module, datamodule=data, verbose=False)[0]["val/mIoU"]
    masks, truths = [], []
    module.eval()  # as Lightning validates
    with torch.no_grad():
        for batch in data.val_dataloader():
            masks += list(module(batch["image"]).argmax(1).numpy().astype(np.uint8))
            truths += list(batch["mask"].numpy().astype(np.uint8))
    samples = [
        Sample(str(i), np.zeros((32, 32, 3), np.uint8), t, labels_from_mask(t, 2))
        for i, t in enumerate(truths)
    ]
    scored = segmentation_scores(
        masks, ImageSet(images.classes, samples), "val", FigureFolder(tmp_path)
    )
    assert 0 < logged < 1
    assert scored["summary"]["mIoU"] == pytest.approx(logged, abs=1e-6)


def test_a_short_share_drops_the_views_that_buy_least_per_second_first():
    full = Views(flip=True, scales=(0.75, 1.0, 1.25), crf=True)
    ladder = cheaper_views(full)
    assert [v.describe() for v in ladder] == [
        "flip + scales + CRF", "flip + CRF", "one view + CRF", "one view"
    ]  # fmt: skip
    assert full.forward_passes == pytest.approx(2 * (0.75**2 + 1 + 1.25**2))
    # one pass 0.1 s and the CRF 0.2 s an image: full 0.825 s, flip + CRF 0.4, CRF alone 0.3
    assert affordable_views(full, 10, 8.5, 0.1, 0.2) == full
    assert affordable_views(full, 10, 5.0, 0.1, 0.2) == ladder[1]
    assert affordable_views(full, 10, 3.5, 0.1, 0.2) == ladder[2]
    assert affordable_views(full, 10, 0.0, 0.1, 0.2) == Views()  # one view, whatever it costs
    plain = Views()
    assert cheaper_views(plain) == [plain]

"""The Run API end to end on tiny generated data: train -> predict -> submit -> score ->
attack -> report, and the run folder's files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from tiny import tiny_config

import vocvision as vv
from vocvision.config import ConfigError
from vocvision.data import read_split
from vocvision.inference import predict_masks
from vocvision.models import Classifier, ProbeClassifier
from vocvision.runfolder import RunFolder
from vocvision.runfolder.records import SCHEMA_VERSION
from vocvision.submission import validate_submission


@pytest.fixture(scope="module")
def finished(kaggle_dir, tmp_path_factory):
    """(run, score) of the job's training, prediction and report on the tiny set."""
    root = tmp_path_factory.mktemp("run")
    return vv.run(kaggle_dir, root, tiny_config(), only=("classify", "segment"))


def test_the_notebook_example_runs(kaggle_dir, tmp_path):
    run = vv.train(kaggle_dir, tmp_path / "r1", tiny_config(), progress=False)
    preds = run.predict(split="test")
    figure = run.show_results(4)
    score = run.submit().score()
    table = run.attack(split="val", eps=4 / 255, max_images=2, steps=1, targeted_steps=1,
                       budgets=(2,)).table  # fmt: skip
    report = run.report()
    assert len(preds) == 6 and preds.labels.shape == (6, 5)
    assert len(figure.axes) >= 4 * 3  # image, truth and prediction per row
    assert 0 <= score.overall <= 1 and score.rows == 12
    assert isinstance(table, pd.DataFrame) and {"name", "clean", "adversarial"} <= set(table)
    assert report.is_file()
    again = vv.Run.load(tmp_path / "r1")  # a run folder is all a later session needs
    arrays = [s.image for s in read_split(kaggle_dir, "test").samples[:2]]
    from_arrays = again.predict(arrays)
    assert np.array_equal(from_arrays.labels, preds.labels[:2])
    assert all(
        np.array_equal(a, b) for a, b in zip(from_arrays.masks, preds.masks[:2], strict=True)
    )


def test_run_produces_a_valid_scored_submission(finished, kaggle_dir):
    run, score = finished
    test = read_split(kaggle_dir, "test")
    sizes = {s.id: (5, 5 * s.image.shape[0] * s.image.shape[1]) for s in test.samples}
    assert validate_submission(run.folder.layout.submission, test.ids, sizes) == []
    assert 0 <= score.segmentation <= 1 and 0 <= score.classification <= 1
    assert score.overall == pytest.approx((score.segmentation + score.classification) / 2)
    assert run.folder.read_score()["dice"] == score.overall


def test_run_folder_holds_plain_model_files_checkpoints_and_logs(finished):
    run, _ = finished
    segmenter, classifier = run.folder.model("segmenter"), run.folder.model("classifier")
    for layout in (segmenter, classifier):
        assert layout.weights.is_file()
        saved = json.loads(layout.config.read_text())
        assert saved["image_size"] == 64 and saved["classes"] == run.classes
    assert segmenter.best_checkpoint.is_file() and segmenter.last_checkpoint.is_file()
    assert segmenter.metrics_csv.is_file() and list(segmenter.tensorboard.glob("events.*"))
    assert classifier.oof.is_file() and not classifier.checkpoints.exists()  # a probe
    info = json.loads(run.folder.layout.info.read_text())
    assert info["schema"] == SCHEMA_VERSION and info["config"]["segmenter"]["arch"] == "fpn"


def test_predictions_match_the_original_resolution(finished, kaggle_dir):
    run, _ = finished
    predictions = run.predictions("test")
    for sample, mask in zip(read_split(kaggle_dir, "test").samples, predictions.masks, strict=True):
        assert mask.shape == sample.image.shape[:2]


def test_predict_uses_the_runs_tta_and_crf_unless_told_one_view(finished, kaggle_dir):
    run, _ = finished
    c = run.config.segmenter
    assert c.tta_flip and len(c.tta_scales) == 3 and c.crf  # settled: a background class
    model = run.models.segmenter.model
    images = read_split(kaggle_dir, "test")
    pixels = [s.image for s in images.samples]
    geometry = {"size": 64, "square": False, "tile": c.tile_size, "crf": True}
    with_tta = predict_masks(model, pixels, **geometry, flip=True, scales=c.tta_scales)
    one_view = predict_masks(model, pixels, **geometry)
    # The two must differ here, or the test could not tell them apart.
    assert not all(np.array_equal(a, b) for a, b in zip(with_tta, one_view, strict=True))
    for tta, expected in ((True, with_tta), (False, one_view)):
        masks = run.predict(images, tta=tta).masks
        assert all(np.array_equal(m, e) for m, e in zip(masks, expected, strict=True))


def test_labelling_is_chosen_on_every_held_out_training_image(finished):
    run, _ = finished
    rule = run.folder.read_labelling()
    everything = len(run.info.val_ids) + len(run.info.train_ids)  # the probe's out-of-fold
    assert rule.chosen_on == f"out-of-fold predictions on all {everything} training images"
    assert rule.val_images == everything
    assert rule.val_dice >= rule.val_dice_classifier_only
    assert rule.fusion_area_scale in (None, 0.01, 0.02, 0.05)
    assert run.models.classification.rule == rule


def test_resume_continues_from_the_last_checkpoint_and_keeps_the_log(kaggle_dir, tmp_path):
    vv.train(kaggle_dir, tmp_path, tiny_config(1, "finetune"), ("classifier",), progress=False)
    last = tmp_path / "classifier" / "checkpoints" / "last.ckpt"
    first_steps = torch.load(last, weights_only=True)["global_step"]
    assert first_steps > 0
    vv.train(kaggle_dir, tmp_path, tiny_config(3, "finetune"), ("classifier",), resume=True,
             progress=False)  # fmt: skip
    assert torch.load(last, weights_only=True)["global_step"] == 3 * first_steps
    metrics = pd.read_csv(tmp_path / "classifier" / "logs" / "metrics.csv")
    assert sorted(metrics["epoch"].dropna().unique()) == [0, 1, 2]  # epoch 0 kept


def test_training_is_deterministic_with_a_seed(kaggle_dir, tmp_path):
    weights = []
    for name in ("a", "b"):
        run = vv.train(kaggle_dir, tmp_path / name, tiny_config(1, "finetune"), ("classifier",),
                       progress=False)  # fmt: skip
        weights.append(run.models.classifier.model.head[1].weight)
    assert torch.equal(weights[0], weights[1])


def test_the_latest_training_of_a_model_is_the_one_loaded(kaggle_dir, tmp_path):
    for method, kind in (("probe", ProbeClassifier), ("finetune", Classifier)):
        run = vv.train(kaggle_dir, tmp_path, tiny_config(1, method), ("classifier",),
                       progress=False)  # fmt: skip
        assert isinstance(vv.Run.load(tmp_path).models.classifier.model, kind)
        evaluation = run.evaluate()
        assert ("epochs" in evaluation.training["classifier"]) == (method == "finetune")


def test_attack_suite_writes_results_figures_and_pngs_that_reproduce_it(finished):
    from PIL import Image

    from vocvision.attacks.measure import model_images, outputs

    run, _ = finished
    results = run.attack(split="val", max_images=4, steps=2, targeted_steps=2, budgets=(2, 8),
                         universal_eps=8 / 255, generator_eps=8 / 255, generator_epochs=1,
                         goal="square", defences=True, finetune_epochs=1)  # fmt: skip
    names = {(r.model, r.name) for r in results.rows}
    # the generator's goal was ours, and a targeted PGD for the same goal is its upper bound
    for model, goal in (("classifier", "add 'square'"), ("segmenter", "all 'square'")):
        generator = next(r for r in results.rows if r.model == model and r.attack == "generator")
        bound = next(r for r in results.rows if r.model == model and r.eps_255 == 8
                     and r.attack == "targeted_pgd")  # fmt: skip
        assert generator.goal == bound.goal == goal and generator.images == bound.images
        assert generator.trained_on == "1 epochs of " + generator.trained_on.split(" of ")[1]
    with pytest.raises(ConfigError, match="attack goal 'squar' is not a class"):
        run.attack(split="val", max_images=2, generator_eps=8 / 255, goal="squar")
    for model in ("classifier", "segmenter"):
        for attack in ("noise 4/255", "PGD-2 4/255", "universal 8/255",
                       "JPEG q75, adaptive PGD-2 4/255"):  # fmt: skip
            assert (model, attack) in names
    assert ("classifier", "transfer: PGD made on the segmenter 4/255") in names
    for row in results.rows:
        assert row.linf_255 <= row.eps_255 + 1e-4
        assert 0 <= row.fooling_rate <= 1 and -1 <= row.ssim <= 1
    saved = run.folder.read_attacks()
    assert [r.name for r in saved.rows] == [r.name for r in results.rows]
    folder = run.folder.layout.attacks_dir
    for png in ("classifier_pgd", "segmenter_targeted", "classifier_generator",
                "segmenter_generator_true_scale", "robustness_curves"):  # fmt: skip
        assert (folder / f"{png}.png").stat().st_size > 1000 and f"{png}.png" in saved.figures
    # The saved 8-bit PNGs are the attacked images: scoring them gives the reported number.
    classifier = run.models.classifier
    val = run.images("val").subset(range(4))
    pixels = [np.array(Image.open(folder / "classifier_pgd" / f"{i}.png")) for i in val.ids]
    saved_images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).float() / 255
    truth = classifier.task.targets(val, 64)
    predicted = classifier.task.decide(outputs(classifier.model, saved_images))
    row = next(r for r in results.rows if r.name == "PGD-2 4/255" and r.model == "classifier")
    assert classifier.task.score(predicted, truth) == pytest.approx(row.adversarial)
    assert model_images(val, 64).shape == saved_images.shape


def test_a_run_json_of_the_earlier_format_still_loads(tmp_path, kaggle_dir):
    """run.json as vocvision wrote it before the schema version (09c8c8d)."""
    legacy = {
        "data_dir": str(kaggle_dir),
        "train_split": "train",
        "test_split": "test",
        "classes": ["disc", "square", "triangle", "ring", "cross"],
        "train_ids": ["0", "1"],
        "val_ids": ["2"],
        "config": {
            "classifier": {"backbone": "tf_efficientnet_lite0", "threshold": None},
            "segmenter": {"arch": "fpn", "epochs": 12, "crf": None, "image_size": 320},
            "seed": 4,
            "val_fraction": 0.15,
        },
    }
    (tmp_path / "run.json").write_text(json.dumps(legacy))
    info = RunFolder(tmp_path).read_info()
    c = info.config
    assert info.has_background and info.coding.values == (0, 1, 2, 3, 4, 5)
    assert (c.seed, c.segmenter.arch, c.segmenter.epochs) == (4, "fpn", 12)
    # what the code of that time did with settings the file lacks
    assert c.classifier.method == "finetune" and not c.classifier.at_least_one
    assert not c.segmenter.tta_flip and c.segmenter.tta_scales == (1.0,) and not c.segmenter.crf
    assert c.segmenter.image_size == 320 and c.classifier.image_size == 320  # the default


def test_predict_takes_one_image_or_many_in_the_usual_forms(finished, tmp_path):
    from PIL import Image

    from vocvision.data import DataError

    run, _ = finished
    pixels = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "one.png")
    grey16 = Image.fromarray((pixels[..., 0].astype(np.uint16) * 257), mode="I;16")
    singles = {
        "path": str(tmp_path / "one.png"),
        "array": pixels,
        "tensor": torch.from_numpy(pixels).permute(2, 0, 1).float() / 255,
        "16-bit PIL": grey16,
    }
    masks = {}
    for name, image in singles.items():
        predictions = run.predict(image)
        assert len(predictions) == 1, name
        masks[name] = predictions.masks[0]
        assert masks[name].shape == (30, 40), name
    assert np.array_equal(masks["path"], masks["array"])
    assert np.array_equal(masks["array"], masks["tensor"])  # the same pixels, as floats
    # A 16-bit grey image is scaled, not clipped to white: as its 8-bit grey version.
    assert np.array_equal(
        masks["16-bit PIL"], run.predict(np.stack([pixels[..., 0]] * 3, -1)).masks[0]
    )
    assert len(run.predict(np.stack([pixels, pixels]))) == 2  # a 4-D array is a batch
    with pytest.raises(DataError, match=r"image 0: empty image \(0x0 pixels\)"):
        run.predict(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(DataError, match=r"expected images .* got int"):
        run.predict(5)

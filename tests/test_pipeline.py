"""End-to-end smoke runs on tiny generated data: train -> predict -> submit -> score -> report."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from vocvision import RunConfig, pipeline
from vocvision.data import read_split
from vocvision.inference import predict_masks
from vocvision.models import Classifier, ProbeClassifier
from vocvision.report import write_report
from vocvision.submission import validate_submission


def tiny_config(epochs: int = 1, method: str = "probe") -> RunConfig:
    config = RunConfig(val_fraction=0.25, accelerator="cpu", devices="1")
    for task in (config.classifier, config.segmenter):
        task.image_size, task.epochs, task.batch_size = 64, epochs, 8
    config.classifier.method, config.classifier.folds = method, 3
    return config


@pytest.fixture(scope="module")
def finished_run(kaggle_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    return pipeline.run(kaggle_dir, run_dir, tiny_config(), progress=False)


def test_run_produces_a_valid_scored_submission_and_report(finished_run, kaggle_dir):
    test_ids = pd.read_csv(kaggle_dir / "test" / "test_set.csv", dtype={"Id": str})["Id"].tolist()
    sizes = {
        i: (
            5,
            5
            * np.load(kaggle_dir / "test" / "img" / f"test_{i}.npy").shape[0]
            * np.load(kaggle_dir / "test" / "img" / f"test_{i}.npy").shape[1],
        )
        for i in test_ids
    }
    assert validate_submission(finished_run.submission, test_ids, sizes) == []
    score = finished_run.score
    assert 0 <= score.segmentation <= 1 and 0 <= score.classification <= 1
    assert score.overall == pytest.approx((score.segmentation + score.classification) / 2)
    report = finished_run.report.read_text()
    for alt in (
        "class balance",
        "sample images",
        "classifier PR curves",
        "label co-occurrence",
        "segmenter curves",
        "predictions",
        "per-class IoU",
        "confusion matrix",
        "best and worst segmentations",
    ):
        assert f'alt="{alt}"' in report
    assert "Kaggle mean Dice" in report
    assert "Segmentation: test split (6 images)" in report and "Best classes by IoU" in report
    assert json.loads((finished_run.run_dir / "score.json").read_text())["dice"] == score.overall


def test_run_folder_holds_checkpoints_logs_and_config(finished_run):
    segmenter = finished_run.run_dir / "segmenter"
    assert (segmenter / "checkpoints" / "best.ckpt").is_file()
    assert (segmenter / "checkpoints" / "last.ckpt").is_file()
    assert (segmenter / "logs" / "metrics.csv").is_file()
    assert list((segmenter / "tensorboard").glob("events.*"))
    classifier = finished_run.run_dir / "classifier"
    assert (classifier / "checkpoints" / "probe.pt").is_file()
    assert (classifier / "oof.npz").is_file()
    for kind in ("classifier", "segmenter"):
        saved = json.loads((finished_run.run_dir / kind / "run_config.json").read_text())
        assert saved["config"]["classifier"]["image_size"] == 64 and saved["model"] == kind


def test_predictions_match_the_original_resolution(finished_run, kaggle_dir):
    predictions = pipeline.Predictions.load(finished_run.run_dir / "predictions" / "test.npz")
    for sample_id, mask in zip(predictions.ids, predictions.masks, strict=True):
        image = np.load(kaggle_dir / "test" / "img" / f"test_{sample_id}.npy")
        assert mask.shape == image.shape[:2]


def test_predict_uses_the_runs_tta_and_crf_unless_told_one_view(finished_run, kaggle_dir):
    config = pipeline.read_run_info(finished_run.run_dir)["config"]
    assert config["segmenter"]["tta_flip"] and len(config["segmenter"]["tta_scales"]) == 3
    assert config["segmenter"]["crf"]  # settled at training: the data have a background class
    model, hp = pipeline.load_run_models(finished_run.run_dir, config)["segmenter"]
    geometry = pipeline.segmenter_geometry(config["segmenter"], hp["image_size"])
    images = read_split(kaggle_dir, "test")
    pixels = [s.image for s in images.samples]
    views = {"flip": True, "scales": tuple(config["segmenter"]["tta_scales"])}
    with_tta = predict_masks(model, pixels, **geometry, **views, crf=True)
    one_view = predict_masks(model, pixels, **geometry, crf=True)
    # The two must differ here, or the test could not tell them apart.
    assert not all(np.array_equal(a, b) for a, b in zip(with_tta, one_view, strict=True))
    for tta, expected in ((True, with_tta), (False, one_view)):
        masks = pipeline.predict(finished_run.run_dir, images, tta=tta).masks
        assert all(np.array_equal(m, e) for m, e in zip(masks, expected, strict=True))


def test_resume_continues_from_last_checkpoint(kaggle_dir, tmp_path):
    pipeline.train(
        kaggle_dir, tmp_path, tiny_config(1, "finetune"), models=("classifier",), progress=False
    )
    last = tmp_path / "classifier" / "checkpoints" / "last.ckpt"
    first_steps = torch.load(last, weights_only=False)["global_step"]
    assert first_steps > 0
    pipeline.train(
        kaggle_dir,
        tmp_path,
        tiny_config(2, "finetune"),
        models=("classifier",),
        resume=True,
        progress=False,
    )
    assert torch.load(last, weights_only=False)["global_step"] == 2 * first_steps
    metrics = pd.read_csv(tmp_path / "classifier" / "logs" / "metrics.csv")
    assert metrics["epoch"].max() == 1


def test_training_is_deterministic_with_a_seed(kaggle_dir, tmp_path):
    weights = []
    for name in ("a", "b"):
        pipeline.train(
            kaggle_dir,
            tmp_path / name,
            tiny_config(1, "finetune"),
            models=("classifier",),
            progress=False,
        )
        state = torch.load(
            tmp_path / name / "classifier" / "checkpoints" / "last.ckpt", weights_only=False
        )["state_dict"]
        weights.append(state["model.head.1.weight"])
    assert torch.equal(weights[0], weights[1])


def test_labelling_is_chosen_on_the_validation_split(finished_run):
    chosen = json.loads((finished_run.run_dir / "classifier" / "labelling.json").read_text())
    assert chosen["chosen_on"] == "validation split"
    assert chosen["val_images"] == len(pipeline.read_run_info(finished_run.run_dir)["val_ids"])
    assert chosen["val_dice"] >= chosen["val_dice_classifier_only"]
    assert chosen["fusion_area_scale"] in (None, 0.01, 0.02, 0.05)
    assert pipeline.labelling(finished_run.run_dir)["threshold"] == chosen["threshold"]


def test_the_configured_classifier_method_is_loaded_not_a_stale_one(kaggle_dir, tmp_path):
    pipeline.train(
        kaggle_dir, tmp_path, tiny_config(1, "probe"), models=("classifier",), progress=False
    )
    assert isinstance(pipeline.load_run_models(tmp_path)["classifier"][0], ProbeClassifier)
    pipeline.train(
        kaggle_dir, tmp_path, tiny_config(1, "finetune"), models=("classifier",), progress=False
    )
    assert (tmp_path / "classifier" / "checkpoints" / "probe.pt").is_file()  # stale
    assert isinstance(pipeline.load_run_models(tmp_path)["classifier"][0], Classifier)
    assert 'alt="classifier curves"' in write_report(tmp_path).read_text()
    pipeline.train(
        kaggle_dir, tmp_path, tiny_config(1, "probe"), models=("classifier",), progress=False
    )
    assert isinstance(pipeline.load_run_models(tmp_path)["classifier"][0], ProbeClassifier)
    assert 'alt="classifier curves"' not in write_report(tmp_path).read_text()  # stale logs


def test_attack_suite_writes_results_figures_and_pngs_that_reproduce_it(finished_run, kaggle_dir):
    from PIL import Image

    from vocvision import robustness

    run_dir = finished_run.run_dir
    results = robustness.attack_run(
        run_dir,
        kaggle_dir,
        split="train",
        max_images=4,
        steps=2,
        targeted_steps=2,
        budgets=(2, 8),
        universal_eps=8 / 255,
        generator_eps=8 / 255,
        generator_epochs=1,
        defences=True,
        finetune_epochs=1,
    )
    names = {(r["model"], r["attack"]) for r in results["rows"]}
    for kind in ("classifier", "segmenter"):
        for attack in ("noise 4/255", "PGD-2 4/255", "universal 8/255", "JPEG q75, adaptive PGD"):
            assert (kind, attack) in names
    assert ("classifier", "transfer: PGD made on the segmenter") in names
    for row in results["rows"]:
        assert row["linf_255"] <= row["eps_255"] + 1e-4
        assert 0 <= row["fooling_rate"] <= 1 and -1 <= row["ssim"] <= 1
    folder = run_dir / robustness.ATTACK_DIR
    assert json.loads((folder / robustness.RESULTS_FILE).read_text())["rows"] == results["rows"]
    for png in (
        "classifier_pgd",
        "segmenter_targeted",
        "classifier_generator",
        "robustness_curves",
    ):
        assert (folder / f"{png}.png").stat().st_size > 1000

    # The saved 8-bit PNGs are the attacked images: scoring them gives the reported number.
    victim = robustness.load_victims(run_dir)["classifier"]
    test = read_split(kaggle_dir, "train").subset(range(4))
    _, truth = victim.inputs(test)
    saved = torch.stack(
        [
            torch.from_numpy(np.array(Image.open(folder / "classifier_pgd" / f"{s.id}.png")))
            .permute(2, 0, 1)
            .float()
            / 255
            for s in test.samples
        ]
    )
    row = next(
        r for r in results["rows"] if r["attack"] == "PGD-2 4/255" and r["model"] == "classifier"
    )
    assert victim.score(victim.predict(saved), truth) == pytest.approx(row["adversarial"])
    report = write_report(run_dir).read_text()
    assert "Adversarial attacks" in report and "Threat model" in report

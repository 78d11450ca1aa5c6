"""Out of the notebook: ONNX export with an ONNX Runtime engine, and the web app."""

from __future__ import annotations

import json
import socket

import numpy as np
import onnx
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from tiny import tiny_config

import vocvision as vv
from vocvision.app import serve
from vocvision.data import read_split
from vocvision.workflow.run_predictions import predict_images


@pytest.fixture(scope="module")
def trained(kaggle_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    vv.train(kaggle_dir, root, tiny_config(2), progress=False)
    return vv.Run.load(root)


def test_export_writes_checked_onnx_files_and_their_settings(trained, tmp_path):
    folder = trained.export(tmp_path / "export")
    settings = json.loads((folder / "export.json").read_text())
    assert settings["classes"] == trained.classes and settings["opset"] >= 17
    assert settings["labelling"]["threshold"] == trained.models.classification.rule.threshold
    assert settings["models"]["segmenter"]["config"]["crf"] is True
    for name in ("classifier", "segmenter"):
        model = onnx.load(folder / f"{name}.onnx")
        onnx.checker.check_model(model, full_check=True)
        dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert dims == ["batch", 3, "height", "width"]


def test_onnx_runtime_predicts_what_torch_does(trained, kaggle_dir):
    test = read_split(kaggle_dir, "test")
    torch_fp32 = predict_images(trained.models, test, trained.info, fast=False)
    onnx = predict_images(trained.engine_models("onnxruntime"), test, trained.info)
    assert np.abs(onnx.probabilities - torch_fp32.probabilities).max() < 1e-3
    pixels = sum(m.size for m in onnx.masks)
    same = sum(int((a == b).sum()) for a, b in zip(onnx.masks, torch_fp32.masks, strict=True))
    assert same / pixels >= 0.999
    assert len(trained.predict(split="test", engine="onnxruntime")) == len(test)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(trained):
    port = _free_port()
    server = serve(trained, port=port, block=False)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    server.close()


def test_the_app_predicts_an_upload(app, trained, tmp_path, kaggle_dir):
    image = read_split(kaggle_dir, "test").samples[0].image
    Image.fromarray(image).save(tmp_path / "x.png")
    _shown, labels, _overlay, _legend, _areas, mask_file = app.predict(
        handle_file(str(tmp_path / "x.png")), None, api_name="/predict"
    )
    with Image.open(mask_file) as mask:
        assert mask.size == (image.shape[1], image.shape[0]) and mask.mode == "P"
    assert set(labels["confidences"][0]) >= {"label", "confidence"}
    assert {c["label"] for c in labels["confidences"]} == set(trained.classes)


def test_an_fgsm_call_changes_the_prediction(app, kaggle_dir, tmp_path):
    image = read_split(kaggle_dir, "test").samples[1].image
    Image.fromarray(image).save(tmp_path / "y.png")
    upload = handle_file(str(tmp_path / "y.png"))
    *_, summary, adversarial = app.predict(
        upload, None, "segmenter", "FGSM", 16, "disc", api_name="/attack"
    )
    before, after = (line.split(":**")[1].strip() for line in summary.split("\n")[:2])
    assert before != after and "PSNR" in summary
    with Image.open(adversarial) as png:
        assert png.size == (64, 64)


def test_a_bad_upload_gets_a_clear_message(app, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("these are not pixels")
    with pytest.raises(Exception, match=r"notes\.png: not an image the app can read"):
        app.predict(handle_file(str(bad)), None, api_name="/predict")

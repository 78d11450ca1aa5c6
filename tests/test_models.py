import numpy as np
import pytest
import timm
import torch
from skimage.data import chelsea

from vocvision.inference import predict_masks, predict_probabilities
from vocvision.models import Classifier, PretrainedWeightsError, Segmenter, load_imagenet_state
from vocvision.models import pretrained as pretrained_module

IMAGENET_CATS = set(range(281, 286))


@pytest.mark.parametrize("name", ["tf_efficientnet_lite0", "tf_efficientnet_lite1"])
def test_package_weights_are_real_imagenet_weights(name):
    model = timm.create_model(name).eval()
    state = load_imagenet_state(name, "package")
    model.load_state_dict(state, strict=True)  # every tensor, nothing left over
    image = torch.from_numpy(chelsea()).permute(2, 0, 1)[None].float() / 255
    image = torch.nn.functional.interpolate(image, size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        top5 = model((image - 0.5) / 0.5).topk(5).indices[0].tolist()
    assert IMAGENET_CATS & set(top5), top5


def test_lite0_checkpoint_has_all_296_tensors():
    assert len(load_imagenet_state("tf_efficientnet_lite0", "package")) == 296


def test_hub_fails_fast_offline(monkeypatch):
    monkeypatch.setattr(pretrained_module, "_network_available", lambda *a, **k: False)
    with pytest.raises(PretrainedWeightsError, match="needs the network"):
        load_imagenet_state("tf_efficientnet_lite0", "hub")


def test_unknown_sources_are_clear_errors(tmp_path):
    with pytest.raises(PretrainedWeightsError, match="no such weights file"):
        load_imagenet_state("tf_efficientnet_lite0", str(tmp_path / "missing.pth"))
    with pytest.raises(PretrainedWeightsError, match="no offline weight package"):
        load_imagenet_state("resnet18", "package")


def test_weights_file_source_round_trip(tmp_path):
    state = load_imagenet_state("tf_efficientnet_lite0", "package")
    torch.save(state, tmp_path / "w.pth")
    loaded = load_imagenet_state("tf_efficientnet_lite0", str(tmp_path / "w.pth"))
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_pretrained_encoder_is_loaded_into_both_models():
    reference = load_imagenet_state("tf_efficientnet_lite0", "package")["conv_stem.weight"]
    classifier = Classifier(3, pretrained="package")
    segmenter = Segmenter(3, pretrained="package")
    assert torch.equal(classifier.backbone.conv_stem.weight, reference)
    assert torch.equal(segmenter.net.encoder.model.conv_stem.weight, reference)
    assert not torch.equal(Classifier(3, pretrained="none").backbone.conv_stem.weight, reference)


def test_prediction_shapes_follow_the_input_images(rng):
    images = [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in [(40, 50), (37, 61)]]
    probs = predict_probabilities(Classifier(4, pretrained="none"), images, size=64)
    assert probs.shape == (2, 4) and ((probs >= 0) & (probs <= 1)).all()
    masks = predict_masks(Segmenter(4, pretrained="none"), images, size=64)
    assert [m.shape for m in masks] == [(40, 50), (37, 61)]
    assert all(m.dtype == np.uint8 and m.max() <= 4 for m in masks)


def test_allowed_classes_restrict_predicted_masks(rng):
    torch.manual_seed(0)
    model = Segmenter(4, pretrained="none")
    images = [rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8) for _ in range(3)]
    free = predict_masks(model, images, size=64)
    allowed = np.zeros((3, 4), dtype=bool)
    allowed[0, 1] = True  # image 0 may use class 2 only; images 1 and 2 background only
    gated = predict_masks(model, images, size=64, allowed=allowed)
    assert set(np.unique(gated[0])) <= {0, 2}
    assert all((m == 0).all() for m in gated[1:])
    # Pixels whose free choice was allowed keep it.
    keep = np.isin(free[0], [0, 2])
    assert np.array_equal(gated[0][keep], free[0][keep])


def test_flip_tta_is_mirror_symmetric(rng):
    torch.manual_seed(0)
    image = rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    classifier = Classifier(3, pretrained="none")
    a = predict_probabilities(classifier, [image], size=64, fast=False, flip=True)
    b = predict_probabilities(classifier, [mirrored], size=64, fast=False, flip=True)
    assert np.allclose(a, b, atol=1e-5)
    segmenter = Segmenter(3, pretrained="none")
    mask = predict_masks(segmenter, [image], size=64, fast=False, flip=True)[0]
    mask_of_mirror = predict_masks(segmenter, [mirrored], size=64, fast=False, flip=True)[0]
    assert (mask == mask_of_mirror[:, ::-1]).mean() > 0.99  # ties may break differently


def test_compiled_models_predict_what_eager_models_do(rng):
    # Three images in batches of two: the compiled path fills the last batch up and must
    # still return exactly one result per image, the same as without compilation.
    torch.manual_seed(0)
    segmenter = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    segmenter.append(torch.nn.Conv2d(8, 4, 1))
    classifier = torch.nn.Sequential(segmenter, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    images = [rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8) for _ in range(3)]
    eager = predict_masks(segmenter, images, size=32, batch_size=2, fast=False)
    compiled = predict_masks(
        segmenter, images, size=32, batch_size=2, fast=False, compile_model=True
    )
    assert len(compiled) == 3
    assert all((a == b).mean() > 0.999 for a, b in zip(eager, compiled, strict=True))
    # Test-time scales give the compiled model one input shape per scale.
    tta = {"flip": True, "scales": (1.0, 1.5)}
    eager = predict_masks(segmenter, images, size=32, batch_size=2, fast=False, **tta)
    compiled = predict_masks(
        segmenter, images, size=32, batch_size=2, fast=False, compile_model=True, **tta
    )
    assert all((a == b).mean() > 0.999 for a, b in zip(eager, compiled, strict=True))
    eager = predict_probabilities(classifier, images, size=32, batch_size=2, fast=False)
    compiled = predict_probabilities(
        classifier, images, size=32, batch_size=2, fast=False, compile_model=True
    )
    assert compiled.shape == (3, 4) and np.allclose(eager, compiled, atol=1e-5)

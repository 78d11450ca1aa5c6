"""Attacks on tiny models: budgets, targets, untouched models, torchattacks agreement."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vocvision.attacks import FGSM, PGD, objective, quantize
from vocvision.models import Classifier, Segmenter


def _images(n=4, size=32, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=generator).float() / 255


def _single_label_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(128, 5),
    ).eval()


@pytest.mark.parametrize("norm, eps", [("linf", 4 / 255), ("linf", 0.02), ("l2", 0.5)])
def test_budgets_hold_exactly_after_8_bit_quantisation(norm, eps):
    torch.manual_seed(0)
    model = Classifier(3, backbone="vocvision_scratch_cnn", pretrained="none").eval()
    images, labels = _images(), torch.randint(0, 2, (4, 3)).float()
    for attack in (FGSM(model, eps, norm), PGD(model, eps, norm, steps=3)):
        adversarial = attack(images, labels)
        assert torch.equal(adversarial * 255, (adversarial * 255).round())
        assert adversarial.min() >= 0 and adversarial.max() <= 1
        delta = (adversarial - images).flatten(1)
        if norm == "linf":
            assert delta.abs().max() <= eps + 1e-6
        else:
            assert delta.norm(dim=1).max() <= eps + 1e-6
        assert delta.abs().max() > 0


def test_quantize_never_grows_a_pixel_change():
    images = _images()
    adversarial = (images + 0.013 * torch.randn_like(images)).clamp(0, 1)
    q = quantize(adversarial, images)
    assert torch.all((q - images).abs() <= (adversarial - images).abs() + 1e-6)


def test_targeted_multilabel_attack_moves_outputs_toward_the_target():
    torch.manual_seed(0)
    model = Classifier(4, backbone="vocvision_scratch_cnn", pretrained="none").eval()
    images = _images(6)
    target = torch.tensor([[1.0, 0, 1, 0]]).repeat(6, 1)  # replace the label set
    before = objective(model(images), target).mean()
    adversarial = PGD(model, 8 / 255, targeted=True, steps=10)(images, target)
    with torch.no_grad():
        assert objective(model(adversarial), target).mean() < before


@pytest.mark.parametrize("weighting", [None, "segpgd", "cospgd"])
def test_segmentation_attacks_push_pixels_where_asked(weighting):
    torch.manual_seed(0)
    model = Segmenter(3, pretrained="none", arch="fpn").eval()
    images = _images(2, 64)
    with torch.no_grad():
        clean = model(images).argmax(1)
    adversarial = PGD(model, 8 / 255, weighting=weighting, steps=5)(images, clean)
    background = torch.zeros_like(clean)  # targeted: everything -> background
    targeted = PGD(model, 8 / 255, targeted=True, weighting=weighting, steps=5)(images, background)
    with torch.no_grad():
        assert (model(adversarial).argmax(1) == clean).float().mean() < 1.0
        before = (clean == 0).float().mean()
        assert (model(targeted).argmax(1) == 0).float().mean() > before


def test_attacks_leave_weights_gradients_and_mode_untouched():
    torch.manual_seed(0)
    model = Classifier(3, backbone="vocvision_scratch_cnn", pretrained="none").train()
    model.head.requires_grad_(False)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    PGD(model, 4 / 255, steps=2)(_images(), torch.ones(4, 3))
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN too


def test_fgsm_and_pgd_match_torchattacks_on_a_single_label_classifier():
    import torchattacks  # test-only dependency, installed by `make test`

    model, images = _single_label_net(), _images(8)
    labels = model(images).argmax(1)
    eps, alpha = 8 / 255, 2 / 255
    pairs = [
        (FGSM(model, eps), torchattacks.FGSM(model, eps=eps)),
        (
            PGD(model, eps, steps=5, alpha=alpha, random_start=False),
            torchattacks.PGD(model, eps=eps, alpha=alpha, steps=5, random_start=False),
        ),
        (
            PGD(model, 0.5, "l2", steps=5, alpha=0.2, random_start=False),
            torchattacks.PGDL2(model, eps=0.5, alpha=0.2, steps=5, random_start=False),
        ),
    ]
    for ours, theirs in pairs:
        expected = theirs(images, labels)
        assert torch.allclose(ours.perturb(images, labels), expected, atol=1e-5)
        assert (ours(images, labels) != quantize(expected, images)).float().mean() < 1e-3

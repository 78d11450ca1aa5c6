"""Attacks on tiny models: budgets, targets, untouched models, torchattacks agreement."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vocvision.attacks import (
    FGSM,
    PGD,
    CrossEntropy,
    GeneratorAttack,
    MultiLabelMargin,
    PixelCrossEntropy,
    RandomNoise,
    UniversalPerturbation,
    pixel_weights,
    quantize,
)
from vocvision.defences import JPEG, GaussianBlur, adversarial_finetune, defended
from vocvision.models import Classifier, Segmenter


def _images(n=4, size=32, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=generator).float() / 255


def _margin(logits, targets, **options) -> torch.Tensor:
    """The multi-label margin objective (untargeted unless `targeted=True`)."""
    targeted = options.pop("targeted", False)
    return MultiLabelMargin(**options).loss(logits, targets, 0.0, targeted)


def _ce(logits, labels) -> torch.Tensor:
    return CrossEntropy().loss(logits, labels, 0.0, False)


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
    margin = MultiLabelMargin()
    for attack in (
        FGSM(model, eps, norm, objective=margin),
        PGD(model, eps, norm, steps=3, objective=margin),
    ):
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
    before = _margin(model(images), target).mean()
    attack = PGD(model, 8 / 255, targeted=True, steps=10, objective=MultiLabelMargin())
    adversarial = attack(images, target)
    with torch.no_grad():
        assert _margin(model(adversarial), target).mean() < before


@pytest.mark.parametrize("weighting", [None, "segpgd", "cospgd"])
def test_segmentation_attacks_push_pixels_where_asked(weighting):
    torch.manual_seed(0)
    model = Segmenter(3, pretrained="none", arch="fpn").eval()
    images = _images(2, 64)
    with torch.no_grad():
        clean = model(images).argmax(1)
    objective = PixelCrossEntropy(weighting)
    adversarial = PGD(model, 8 / 255, objective=objective, steps=5)(images, clean)
    background = torch.zeros_like(clean)  # targeted: everything -> background
    targeted = PGD(model, 8 / 255, targeted=True, objective=objective, steps=5)(images, background)
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
    PGD(model, 4 / 255, steps=2, objective=MultiLabelMargin())(_images(), torch.ones(4, 3))
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
            PGD(model, eps, steps=5, alpha=alpha, random_start=False, best_iterate=False),
            torchattacks.PGD(model, eps=eps, alpha=alpha, steps=5, random_start=False),
        ),
        (
            PGD(model, 0.5, "l2", steps=5, alpha=0.2, random_start=False, best_iterate=False),
            torchattacks.PGDL2(model, eps=0.5, alpha=0.2, steps=5, random_start=False),
        ),
    ]
    for ours, theirs in pairs:
        expected = theirs(images, labels)
        assert torch.allclose(ours.perturb(images, labels), expected, atol=1e-5)
        assert (ours(images, labels) != quantize(expected, images)).float().mean() < 1e-3


class _Recorder(nn.Module):
    """Passes through to `model` and keeps every batch of logits it returns."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.model(images)
        self.seen.append(logits.detach())
        return logits


@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_returns_each_images_best_8_bit_iterate(targeted):
    torch.manual_seed(0)
    model = _Recorder(Classifier(6, backbone="vocvision_scratch_cnn", pretrained="none")).eval()
    images = _images(8)
    targets = torch.randint(0, 2, (8, 6), generator=torch.Generator().manual_seed(1)).float()
    # a step as large as the ball makes the walk bounce, so the last iterate is often not best
    objective = MultiLabelMargin(kappa=0.5)
    attack = PGD(model, 6 / 255, steps=6, alpha=6 / 255, targeted=targeted, objective=objective)
    adversarial = attack(images, targets)
    assert len(model.seen) == attack.steps + 1  # every iterate scored, the last one too
    per_iterate = torch.stack([attack.attained(logits, targets) for logits in model.seen])
    with torch.no_grad():
        returned = attack.attained(model.model(adversarial), targets)
    assert torch.equal(returned, per_iterate.max(0).values)
    assert returned.min() >= 0 and returned.max() <= 1


def test_multilabel_margin_is_clipped_on_the_attackers_side_only():
    labels = torch.tensor([[1.0, 1, 0, 0]])
    # untargeted (ascend): classes 0 and 3 are already wrong by more than kappa: settled
    logits = torch.tensor([[-8.0, 0.2, -0.3, 9.0]], requires_grad=True)
    _margin(logits, labels, threshold=0.5, kappa=5.0).sum().backward()
    assert logits.grad[0, 0] == 0 and logits.grad[0, 3] == 0
    assert logits.grad[0, 1] < 0 and logits.grad[0, 2] > 0  # push them over the cut
    # targeted (descend towards `labels`): class 0 is settled, class 3 far off still pulls
    logits = torch.tensor([[8.0, 0.2, -0.3, 9.0]], requires_grad=True)
    _margin(logits, labels, kappa=5.0, targeted=True).sum().backward()
    assert logits.grad[0, 0] == 0 and logits.grad[0, 3] > 0
    # the cut is the threshold's logit: a logit at logit(0.7) is on the line for threshold 0.7
    on_line = torch.tensor([[float(torch.tensor(0.7).logit())]])
    assert _margin(on_line, torch.ones(1, 1), threshold=0.7).abs().item() < 1e-6


@pytest.mark.parametrize("scheme", ["segpgd", "cospgd"])
def test_pixel_weights_favour_the_pixels_still_to_move(scheme):
    # two pixels: the first predicted class 0 with confidence, the second class 1
    logits = torch.tensor([[4.0, -4.0], [-4.0, 4.0]]).T.reshape(1, 2, 1, 2)
    masks = torch.zeros(1, 1, 2, dtype=torch.long)  # truth (untargeted) or goal (targeted): 0
    untargeted = pixel_weights(logits, masks, scheme, progress=0.0)
    targeted = pixel_weights(logits, masks, scheme, progress=0.0, targeted=True)
    # untargeted: pixel 0 still shows the truth, pixel 1 is fooled already
    assert untargeted[0, 0, 0] > untargeted[0, 0, 1]
    # targeted: pixel 0 sits at the goal already, pixel 1 still has to move
    assert targeted[0, 0, 1] > targeted[0, 0, 0]


def test_random_noise_uses_the_whole_budget_in_a_random_direction():
    images = _images(2, 16) * 0.5 + 0.25  # away from 0 and 1, so nothing is clipped
    images = (images * 255).round() / 255
    noisy = RandomNoise(nn.Identity(), 4 / 255)(images, torch.zeros(2))
    delta = ((noisy - images) * 255).round()
    assert torch.equal(delta.abs(), torch.full_like(delta, 4))
    assert 0.3 < (delta > 0).float().mean() < 0.7


def test_universal_perturbation_is_one_delta_that_hurts_unseen_images_more_than_noise():
    model = _single_label_net()
    train, test = _images(32, 32, seed=1), _images(16, 32, seed=2)
    with torch.no_grad():
        train_labels, test_labels = model(train).argmax(1), model(test).argmax(1)
    eps = 16 / 255
    attack = UniversalPerturbation(model, eps, epochs=5, batch_size=8).fit(train, train_labels)
    assert attack.delta.shape == (1, 3, 32, 32) and attack.delta.abs().max() <= eps + 1e-6
    adversarial = attack(test, test_labels)
    inside = (test > eps) & (test < 1 - eps)  # pixels the clip cannot have touched
    delta = (adversarial - test)[:, :, :, :]
    per_image = torch.where(inside, delta, torch.nan)
    assert torch.allclose(per_image.nanmean(0), attack.delta[0], atol=1 / 255 + 1e-6)
    noise = RandomNoise(model, eps)(test, test_labels)
    with torch.no_grad():
        universal_loss = _ce(model(adversarial), test_labels).mean()
        noise_loss = _ce(model(noise), test_labels).mean()
    assert universal_loss > noise_loss


def test_generator_learns_a_targeted_goal_that_carries_to_unseen_images():
    model = _single_label_net()
    train, test = _images(48, 32, seed=3), _images(16, 32, seed=4)
    goal = torch.full((48,), 2)
    attack = GeneratorAttack(model, 16 / 255, epochs=8, batch_size=8, lr=3e-3, targeted=True)
    attack.fit(train, goal)
    adversarial = attack(test, torch.zeros(16))  # targets are ignored: the goal was trained
    assert (adversarial - test).abs().max() <= 16 / 255 + 1e-6
    with torch.no_grad():
        before = _ce(model(test), goal[:16]).mean()
        after = _ce(model(adversarial), goal[:16]).mean()
    assert after < before
    assert attack.history[-1] < attack.history[0]


def test_generator_trained_on_crops_moves_whole_unseen_images_to_the_goal():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1)).eval()
    train, test = _images(32, 32, seed=5), _images(8, 32, seed=6)
    goal = torch.zeros(32, 32, 32, dtype=torch.long)  # every pixel -> class 0
    attack = GeneratorAttack(
        model,
        16 / 255,
        epochs=6,
        batch_size=8,
        lr=3e-3,
        crop_size=16,
        targeted=True,
        objective=PixelCrossEntropy(),
    ).fit(train, goal)
    assert attack.generator.pattern.shape[-2:] == (32, 32)  # crops trained the whole pattern
    adversarial = attack(test, goal[:8])
    assert adversarial.shape == test.shape
    assert (adversarial - test).abs().max() <= 16 / 255 + 1e-6
    with torch.no_grad():
        before = (model(test).argmax(1) == 0).float().mean()
        after = (model(adversarial).argmax(1) == 0).float().mean()
    assert after > before


def test_jpeg_defence_passes_gradients_straight_through_and_blur_is_differentiable():
    ramp = torch.linspace(0, 1, 32)
    smooth = (ramp[None, :] * ramp[:, None]).expand(2, 3, 32, 32)
    images = ((smooth * 255).round() / 255).contiguous().requires_grad_(True)
    compressed = JPEG(50)(images)
    assert 0 < (compressed - images).abs().mean() < 0.05  # it really re-compresses
    compressed.sum().backward()
    assert torch.equal(images.grad, torch.ones_like(images))  # BPDA: identity backward
    images.grad = None
    GaussianBlur(1.0)(images)[:, :, 16, 16].sum().backward()
    assert (images.grad[:, :, 14:19, 14:19] > 0).all()  # the blur spreads the gradient


def test_adaptive_attack_through_a_defence_beats_the_transferred_one():
    model = _single_label_net()
    images = _images(16, 32)
    with torch.no_grad():
        labels = model(images).argmax(1)
    guarded = defended(model, GaussianBlur(1.5))
    transferred = PGD(model, 8 / 255, steps=5)(images, labels)
    adaptive = PGD(guarded, 8 / 255, steps=5)(images, labels)
    with torch.no_grad():
        assert _ce(guarded(adaptive), labels).mean() > _ce(guarded(transferred), labels).mean()


def test_adversarial_finetuning_lowers_the_loss_under_attack():
    model = _single_label_net()
    images = _images(32, 32, seed=5)
    labels = torch.randint(0, 5, (32,), generator=torch.Generator().manual_seed(0))

    def robust_loss() -> float:
        adversarial = PGD(model, 4 / 255, steps=3)(images, labels)
        with torch.no_grad():
            return float(_ce(model(adversarial), labels).mean())

    before = robust_loss()
    weights = [p.detach().clone() for p in model.parameters()]
    tuned = adversarial_finetune(
        model,
        images,
        labels,
        4 / 255,
        nn.CrossEntropyLoss(),
        CrossEntropy(),
        epochs=6,
        lr=1e-2,
        batch_size=8,
    )
    assert tuned is model and not model.training
    assert any(not torch.equal(w, p) for w, p in zip(weights, model.parameters(), strict=True))
    assert robust_loss() < before


def test_generator_under_a_time_limit_trains_fewer_epochs_then_fewer_images():
    model = _single_label_net()
    train, goal = _images(48, 32, seed=3), torch.full((48,), 2)
    unlimited = GeneratorAttack(model, 16 / 255, epochs=40, batch_size=8, targeted=True)
    assert unlimited.fit(train, goal).trained == {"epochs": 40, "images": 48}
    limited = GeneratorAttack(
        model, 16 / 255, epochs=10_000, batch_size=8, targeted=True, max_seconds=0.5
    ).fit(train, goal)
    assert limited.trained["epochs"] < 10_000 or limited.trained["images"] < 48
    assert len(limited.history) == limited.trained["epochs"] >= 5  # min_epochs
    starved = GeneratorAttack(
        model, 16 / 255, epochs=20, batch_size=8, targeted=True, max_seconds=1e-6
    ).fit(train, goal)
    assert starved.trained == {"epochs": 5, "images": 8}  # the fewest epochs of one batch

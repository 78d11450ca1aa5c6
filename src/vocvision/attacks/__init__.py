"""Adversarial attacks on our classifiers and segmenters: `attack(images, targets) -> images`.

One attack per module over one base class (`attack.Attack`, which documents the threat model),
each optimising an `Objective` (`objectives`: the multi-label margin, per-pixel cross-entropy
with SegPGD / CosPGD weights, single-label cross-entropy); `measure` puts image sets into a
model's pixel space and measures the perturbations.
"""

from .attack import NORMS, Attack, frozen, quantize
from .fgsm import FGSM
from .generator import GeneratorAttack, PerturbationGenerator
from .noise import RandomNoise
from .objectives import (
    CrossEntropy,
    MultiLabelMargin,
    Objective,
    PixelCrossEntropy,
    pixel_weights,
)
from .pgd import PGD
from .universal import UniversalPerturbation

ATTACKS = {
    "noise": RandomNoise,
    "fgsm": FGSM,
    "pgd": PGD,
    "universal": UniversalPerturbation,
    "generator": GeneratorAttack,
}

__all__ = [
    "ATTACKS",
    "FGSM",
    "NORMS",
    "PGD",
    "Attack",
    "CrossEntropy",
    "GeneratorAttack",
    "MultiLabelMargin",
    "Objective",
    "PerturbationGenerator",
    "PixelCrossEntropy",
    "RandomNoise",
    "UniversalPerturbation",
    "frozen",
    "pixel_weights",
    "quantize",
]

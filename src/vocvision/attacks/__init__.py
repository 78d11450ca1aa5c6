"""Adversarial attacks on our classifiers and segmenters: `attack(images, targets) -> images`.

One attack per module over one base class (`base.Attack`, which also documents the threat
model and the objectives for multi-label, single-label and segmentation outputs); `measure`
puts image sets into a model's pixel space and scores attacks there.
"""

from .base import NORMS, Attack, frozen, objective, pixel_weights, quantize
from .fgsm import FGSM
from .generator import GeneratorAttack, PerturbationGenerator
from .noise import RandomNoise
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
    "GeneratorAttack",
    "PerturbationGenerator",
    "RandomNoise",
    "UniversalPerturbation",
    "frozen",
    "objective",
    "pixel_weights",
    "quantize",
]

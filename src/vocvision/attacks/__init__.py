"""Adversarial attacks on our classifiers and segmenters: `attack(images, targets) -> images`.

One attack per module over one base class (`base.Attack`, which also documents the threat
model and the objectives for multi-label, single-label and segmentation outputs).
"""

from .base import NORMS, Attack, objective, quantize
from .fgsm import FGSM
from .pgd import PGD

ATTACKS = {"fgsm": FGSM, "pgd": PGD}

__all__ = ["ATTACKS", "FGSM", "NORMS", "PGD", "Attack", "objective", "quantize"]

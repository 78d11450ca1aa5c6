"""Defences against the attacks in `vocvision.attacks`, each meant to be evaluated with an
attack that knows about it: input transforms pass gradients straight through (BPDA), and
adversarial fine-tuning is judged by PGD on the fine-tuned model itself."""

from .adversarial_training import AdversarialFinetuning, adversarial_finetune
from .input_transforms import JPEG, GaussianBlur, defended

__all__ = ["JPEG", "AdversarialFinetuning", "GaussianBlur", "adversarial_finetune", "defended"]

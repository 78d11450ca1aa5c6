"""Models: plain `nn.Module`s that take images in [0, 1] and normalise inside."""

from .classifier import Classifier
from .hub import SavesPretrained, load_pretrained, read_model_config
from .pretrained import (
    PACKAGE_WEIGHTS,
    PretrainedWeightsError,
    check_weights_source,
    load_imagenet_state,
)
from .probe import ProbeClassifier
from .scratch import ScratchCNN  # also registers timm's `vocvision_scratch_cnn`
from .segmenter import ARCHITECTURES, Segmenter

__all__ = [
    "ARCHITECTURES",
    "PACKAGE_WEIGHTS",
    "Classifier",
    "PretrainedWeightsError",
    "ProbeClassifier",
    "SavesPretrained",
    "ScratchCNN",
    "Segmenter",
    "check_weights_source",
    "load_imagenet_state",
    "load_pretrained",
    "read_model_config",
]

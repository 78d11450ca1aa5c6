"""Training: Lightning tasks, losses and the fit loop."""

from .fit import fit_model, load_model
from .probe import fit_probe, load_probe
from .tasks import ClassificationTask, SegmentationTask

__all__ = [
    "ClassificationTask",
    "SegmentationTask",
    "fit_model",
    "fit_probe",
    "load_model",
    "load_probe",
]

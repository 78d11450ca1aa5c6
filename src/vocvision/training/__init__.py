"""Training: Lightning tasks, losses and the fit loop."""

from .fit import fit_model, load_model
from .tasks import ClassificationTask, SegmentationTask

__all__ = ["ClassificationTask", "SegmentationTask", "fit_model", "load_model"]

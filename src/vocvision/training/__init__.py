"""Training: one Lightning module over the task objects, the fit loop, and the probe's
closed-form fit."""

from .checkpoints import read_checkpoint, trained_epochs
from .distributed import is_worker_process, main_process_decides
from .epoch_callbacks import EpochBudget, EpochSeed, fresh_budgets
from .fit import fit_model, save_model, training_precision
from .module import TaskModule
from .probe_fitting import fit_probe, read_oof

__all__ = [
    "EpochBudget",
    "EpochSeed",
    "TaskModule",
    "fit_model",
    "fit_probe",
    "fresh_budgets",
    "is_worker_process",
    "main_process_decides",
    "read_checkpoint",
    "read_oof",
    "save_model",
    "trained_epochs",
    "training_precision",
]

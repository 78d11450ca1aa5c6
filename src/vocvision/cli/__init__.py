"""`vocvision` command line: each command a thin call on `vocvision.api`."""

from . import files, research, runs  # noqa: F401  (each module registers its commands)
from .app import app, main

__all__ = ["app", "main"]

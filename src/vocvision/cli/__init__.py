"""`vocvision` command line: each command a thin call on `vocvision.api`."""

from . import runs, research, files  # noqa: F401, I001  (registration order = --help order)
from .console import app, main

__all__ = ["app", "main"]

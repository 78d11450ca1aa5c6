"""The one error family a user sees as a one-line message (the CLI exits with status 2)."""

from __future__ import annotations


class VocvisionError(Exception):
    """A problem with what the user gave (data, settings, a run folder, a file): the message
    names the file or setting and says what is wrong, so no traceback is needed."""


class RunFolderError(VocvisionError, ValueError):
    """A run folder that is missing, incomplete or does not match the data it is given."""


class ModelFileError(VocvisionError, ValueError):
    """A model file (safetensors + config.json) or checkpoint that cannot be loaded."""

"""Process set-up: the allocator and threads (before Python allocates much), a quiet console
and a log file."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# glibc allocator settings that keep large tensor buffers mapped instead of returning them to
# the OS after every op; 1.3-8x faster CPU training/inference on our 2-core machines. glibc
# reads them only at process start, hence the re-exec.
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "68719476736"}
OPT_OUT = "VOCVISION_NO_MALLOC_TUNING"


def reexec_with_malloc_settings() -> None:
    """Re-run this command once with MALLOC_SETTINGS in the environment (unless opted out)."""
    if os.environ.get(OPT_OUT) or all(os.environ.get(k) == v for k, v in MALLOC_SETTINGS.items()):
        return
    env = {**os.environ, **MALLOC_SETTINGS}
    os.execve(sys.executable, [sys.executable, "-m", "vocvision", *sys.argv[1:]], env)


def configure_threads() -> None:
    """Use every core for intra-op parallelism (torch picks fewer in some containers)."""
    import torch  # not at the top: this module runs before the re-exec, and torch is slow

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))


THIRD_PARTY_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "lightning_fabric",
    "pytorch_lightning",
)
THIRD_PARTY_MODULES = (
    r"(lightning|lightning_fabric|pytorch_lightning|torchmetrics|timm|torch)(\.|$)"
)


def quiet(verbose: bool = False) -> None:
    """Turn off third-party tips, info lines and warnings (Lightning's "Tip", "GPU
    available", deprecations), keeping vocvision's own messages; `verbose` keeps them all."""
    if verbose:
        return
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module=THIRD_PARTY_MODULES)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*(does not have many workers|logging interval)")


@contextmanager
def logging_to(path: Path) -> Iterator[Path]:
    """Copy the log (vocvision's messages, third-party warnings) into the file `path` while
    the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()

"""Process set-up that must happen before Python allocates much: the allocator and threads."""

from __future__ import annotations

import os
import sys

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
    import torch

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))

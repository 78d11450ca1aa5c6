"""Which process of a DDP training this is, and one decision for all of them.

Lightning starts the other processes by running the same command again (or torchrun starts
them all); they go through the same fits and leave every file to the main process. Every
branch that leads to a fit must then be taken alike on all of them, whatever their own
clocks or files say: `main_process_decides` gives them the main process's choice.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch.distributed as dist

T = TypeVar("T")


def is_worker_process() -> bool:
    """Whether this is one of the other processes of a DDP training (global rank > 0), as
    torchrun (RANK) or Lightning's own launcher (LOCAL_RANK, NODE_RANK) says."""
    if "RANK" in os.environ:
        return int(os.environ["RANK"]) > 0
    return int(os.environ.get("LOCAL_RANK", 0)) > 0 or int(os.environ.get("NODE_RANK", 0)) > 0


def main_process_decides(value: T) -> T:
    """The main process's `value` on every process while a DDP process group is up (it stays
    up from the first DDP fit to the end of the command), else `value` itself. Every process
    must call it at the same point."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]

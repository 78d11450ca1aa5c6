"""End-to-end Kaggle benchmark on MSRC-v2 (the closest dev set to the VOC task).

Converts ../shared/data/msrc21 (train split -> Kaggle train, val split -> Kaggle test with the
truth kept aside), runs `vocvision run` (by default its classify and segment parts, the
pipeline of earlier versions; `--full` for every stage in `--budget`) and prints the Kaggle
mean Dice (both halves) and each stage's wall time.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
      .venv/bin/python benchmarks/msrc_kaggle.py [--data ../shared/data/msrc21] [--out DIR]

(the allocator settings are the ones the `vocvision` command sets for itself).

Reference (issue #2): a linear probe on frozen Lite0 features reaches 0.857 (cls 0.905, seg 0.808).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import SHARED_DATA, has_voc_data
from rich.console import Console
from rich.table import Table

import vocvision as vv
from vocvision import RunConfig
from vocvision.data import convert
from vocvision.job import PARTS
from vocvision.launcher import configure_threads

DEFAULT_DATA = SHARED_DATA / "msrc21"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-bench/msrc_kaggle"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full", action="store_true", help="every stage: baselines, attacks")
    parser.add_argument("--budget", type=float, default=45, help="minutes (with --full)")
    args = parser.parse_args()
    console = Console()
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    started = time.perf_counter()
    kaggle = args.out / "kaggle"
    convert(args.data, kaggle, "train", "val")
    convert_s = time.perf_counter() - started
    config = RunConfig(seed=args.seed)
    started = time.perf_counter()
    only = PARTS if args.full else ("classify", "segment")
    run, score = vv.run(kaggle, args.out / "run", config, args.budget * 60, only)
    total_s = time.perf_counter() - started
    table = Table(title=f"MSRC-v2 train -> val, Kaggle mean Dice ({args.data})")
    for column in ("dice", "cls dice", "seg dice", "job s", "convert s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{score.overall:.4f}",
        f"{score.classification:.4f}",
        f"{score.segmentation:.4f}",
        f"{total_s:.0f}",
        f"{convert_s:.1f}",
    )
    console.print(table)
    stages = Table(title=f"stages (budget {args.budget:g} min)")
    for column in ("stage", "share s", "took s", "status", "what"):
        stages.add_column(column)
    for stage in run.folder.read_job().stages:
        stages.add_row(
            stage.name, f"{stage.allotted_s:.0f}", f"{stage.seconds:.0f}", stage.status, stage.note
        )
    console.print(stages)
    console.print("reference: linear probe on frozen Lite0 features 0.857 (cls 0.905, seg 0.808)")
    console.print(f"report: {run.folder.layout.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

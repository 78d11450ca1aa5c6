"""The perturbation generator's success against its training time limit.

`vocvision run` trains the generator within a share of the attack stage
(`GeneratorAttack(max_seconds=...)`: fewer epochs, then fewer training images). This prints
its targeted success on a run's first validation images, for each limit, beside a targeted
PGD-20 for the same goal on the same images (the upper bound):

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
      .venv/bin/python benchmarks/generator_budget.py --run /tmp/msrc20 --seconds 30 90 240

RUN is any trained run folder (e.g. `vocvision run ../shared/data/msrc21 --out /tmp/msrc20`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

import vocvision as vv
from vocvision.attacks.measure import model_images
from vocvision.workflow.robustness.learned import generator_rows
from vocvision.workflow.robustness.outputs import AttackOutputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained run folder")
    parser.add_argument("--model", default="segmenter", choices=("classifier", "segmenter"))
    parser.add_argument("--images", type=int, default=8, help="validation images attacked")
    parser.add_argument("--seconds", type=float, nargs="+", default=[30, 90, 240])
    args = parser.parse_args()
    if not (args.run / "run.json").is_file():
        print(f"{args.run}: not a trained run folder (train one first)", file=sys.stderr)
        return 2
    run = vv.Run.load(args.run)
    victim = run.models[args.model]
    size = victim.task.input_size
    val = run.images("val")
    val = val.subset(range(min(args.images, len(val))))
    train = run.images("train")
    x, truth = model_images(val, size), victim.task.targets(val, size)
    learnt = (model_images(train, size), victim.task.targets(train, size))
    out = AttackOutputs(Path(tempfile.mkdtemp()))  # figures go to a scratch folder
    table = Table(title=f"{args.model} generator, 8/255, {len(val)} validation images")
    for column in ("limit s", "trained", "fit s", "success", "PGD-20 success"):
        table.add_column(column)
    for seconds in args.seconds:
        generator, bound = generator_rows(
            victim, learnt, val.ids, x, truth, 8 / 255, out, max_seconds=seconds
        )
        table.add_row(
            f"{seconds:.0f}",
            generator.trained_on,
            f"{generator.fit_seconds:.0f}",
            f"{generator.success:.3f}",
            f"{bound.success:.3f}",
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

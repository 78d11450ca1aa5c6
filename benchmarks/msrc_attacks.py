"""The attack suite against a trained run's classifier and segmenter on MSRC-v2 val.

Runs the attack suite (`Run.attack`) with everything on (noise, FGSM, PGD, targeted PGD,
transfer, robustness curves, a universal perturbation at 10/255 and a trained generator at
8/255 learnt on the run's training part, JPEG/blur with adaptive attacks, adversarial
fine-tuning) on the VOC folder's val split,
prints one table and the issue's targets, then times PGD-10 on 100 images at the
classifier's 320 px.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
      .venv/bin/python benchmarks/msrc_attacks.py --run /tmp/vocvision-bench/msrc_kaggle/run

(the run folder benchmarks/msrc_kaggle.py leaves behind). Results also land in
RUN/attacks/results.json and the run's report.
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
from vocvision.attacks import PGD
from vocvision.attacks.measure import model_images, run_attack
from vocvision.launcher import configure_threads
from vocvision.report.findings import attack_findings


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "msrc21")
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--eps", type=float, default=4, help="in 1/255 steps")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--targeted-steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=None, help="first N val images")
    parser.add_argument(
        "--generator-epochs", type=int, default=None, help="default: GENERATOR_SETTINGS per model"
    )
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["classifier", "segmenter"])
    args = parser.parse_args()
    console = Console(width=max(160, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    started = time.perf_counter()
    run = vv.Run.load(args.run)
    results = run.attack(
        "val",
        args.eps / 255,
        args.data,
        steps=args.steps,
        targeted_steps=args.targeted_steps,
        max_images=args.images,
        universal_eps=10 / 255,
        generator_eps=8 / 255,
        generator_epochs=args.generator_epochs,
        defences=True,
        finetune_epochs=args.finetune_epochs,
        models=tuple(args.models),
    )
    table = Table(title=f"Attacks on {results.images} MSRC val images ({args.run})")
    for column in (
        "model",
        "attack",
        "metric",
        "clean",
        "attacked",
        "ratio",
        "fooled",
        "success",
        "Linf/255",
        "PSNR",
        "SSIM",
        "s/img",
        "fit s",
    ):
        table.add_column(column, justify="right")
    for r in results.rows:
        table.add_row(
            r.model,
            r.name,
            r.metric,
            f"{r.clean:.4f}",
            f"{r.adversarial:.4f}",
            f"{r.ratio:.3f}",
            f"{r.fooling_rate:.2f}",
            "-" if r.success is None else f"{r.success:.3f}",
            f"{r.linf_255:.1f}",
            f"{r.psnr:.1f}",
            f"{r.ssim:.3f}",
            f"{r.seconds_per_image:.3f}",
            f"{r.fit_seconds or 0:.0f}",
        )
    console.print(table)
    for line in attack_findings(results):
        console.print(f"- {line}")
    console.print(f"suite: {time.perf_counter() - started:.0f} s; report: {run.report()}")

    if "classifier" in args.models:
        victim = run.models.classifier
        pool = run.images("train")
        pool = pool.subset(range(min(100, len(pool))))
        size = victim.task.input_size
        images, truth = model_images(pool, size), victim.task.targets(pool, size)
        attack = PGD(
            victim.model, args.eps / 255, steps=args.steps, objective=victim.task.objective()
        )
        started = time.perf_counter()
        run_attack(attack, images, truth)
        seconds = time.perf_counter() - started
        console.print(
            f"PGD-{args.steps} on {len(images)} images at {size} px (classifier): "
            f"{seconds:.0f} s ({seconds / len(images):.2f} s/image; target < 300 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

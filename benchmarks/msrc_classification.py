"""Multi-label classification ablations and prediction speed on MSRC-v2.

1. Held-out: every variant of `vocvision.workflow.study.HOLDOUT_VARIANTS` trained on MSRC train (its
   own inner validation split picks the threshold) and scored on MSRC val.
2. K-fold: frozen-probe features of MSRC trainval once, 5 multilabel-stratified folds, every
   threshold rule cross-fitted; losses x threshold rules x flip TTA.
3. Prediction speed (images/s, median of 3 passes over 256 images, bf16 + channels_last).

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
      .venv/bin/python benchmarks/msrc_classification.py [--segmenter-run RUN] [--out DIR]

`--segmenter-run`: a `run` folder of the same Kaggle conversion (e.g. the `run/` that
benchmarks/msrc_kaggle.py leaves in its --out) whose segmenter feeds the fusion variant.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import SHARED_DATA, has_voc_data
from rich.console import Console
from rich.table import Table

from vocvision.data import convert, read_split
from vocvision.inference import predict_probabilities
from vocvision.launcher import configure_threads
from vocvision.models import Classifier, ProbeClassifier
from vocvision.report.findings import study_findings
from vocvision.runfolder import RunFolder
from vocvision.workflow import study

DEFAULT_DATA = SHARED_DATA / "msrc21"
METRICS = ("dice", "mAP", "f1_micro", "f1_macro", "precision", "recall")


def _table(title: str, rows: list[dict], extra: tuple[str, ...]) -> Table:
    table = Table(title=title)
    table.add_column("variant", no_wrap=True)
    for column in METRICS + extra:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.get("label", row["name"]),
            *(f"{row[c]:.4f}" for c in METRICS),
            *(f"{row[c]:.1f}" for c in extra),
        )
    return table


def _speed(images) -> Table:
    batch = (images * (256 // len(images) + 1))[:256]
    table = Table(title="Classifier prediction speed (256 images, bf16, channels_last)")
    for column in ("model", "size", "images/s (median of 3)"):
        table.add_column(column, justify="right")
    models = (
        ("Lite0 fine-tune net", 224, Classifier(21, pretrained="none")),
        ("Lite0 probe, 5 heads", 224, ProbeClassifier(21, pretrained="none", num_heads=5)),
        ("Lite0 probe, 5 heads", 320, ProbeClassifier(21, pretrained="none", num_heads=5)),
    )
    for name, size, model in models:
        predict_probabilities(model, batch[:32], size)  # warm-up
        times = []
        for _ in range(3):
            started = time.perf_counter()
            predict_probabilities(model, batch, size)
            times.append(time.perf_counter() - started)
        table.add_row(name, str(size), f"{len(batch) / statistics.median(times):.0f}")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-bench/msrc_cls"))
    parser.add_argument("--segmenter-run", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-holdout", action="store_true")
    args = parser.parse_args()
    console = Console(width=max(140, Console().width))  # wide tables, even when piped
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    kaggle = args.out / "kaggle"
    if args.segmenter_run is not None:
        kaggle = Path(args.segmenter_run).parent / "kaggle"  # the conversion it was trained on
    elif not (kaggle / "truth").is_dir():
        convert(args.data, kaggle, "train", "val")
    folder = RunFolder(args.out)
    if not args.skip_holdout:
        rows = study.holdout_study(kaggle, folder, seed=args.seed, segmenter_run=args.segmenter_run)
        console.print(_table("MSRC-v2 train -> val (53 images)", rows, ("train_s",)))
    cv_rows = study.cross_validation_study(args.data, "trainval", folder, seed=args.seed)
    console.print(_table("MSRC-v2 trainval, 5-fold frozen probe", cv_rows, ("heads_s",)))
    console.print(f"features: {cv_rows[0]['features_s']:.1f} s for 354 images x 4 views")
    console.print(_speed([s.image for s in read_split(args.data, "val").samples]))
    for line in study_findings(folder.read_study()):
        console.print("-", line)
    console.print(f"results: {folder.layout.study}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

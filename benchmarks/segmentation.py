"""Segmentation on a VOC-layout dev set: train the segmenter on `train`, score it on `val`.

Each variant (a set of `SegmenterConfig` overrides, below) trains in its own process, so the
peak memory printed is that variant's; every trained model is then scored plain and with
test-time augmentation (flip; flip + scales 0.75/1/1.25) and with that plus the dense CRF,
each timed on the val images.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \\
      .venv/bin/python benchmarks/segmentation.py --data ../shared/data/camvid \\
      --variants default unet --out /tmp/vocvision-bench/seg-camvid

`--rescore` scores those runs again without training, e.g. with `--set inference_square=true`
(training seconds then print as nan).

Prints mIoU, mean Dice, pixel accuracy, the Kaggle per-image Dice and, for binary sets, the
foreground's Dice/IoU/precision/recall; training seconds, inference images/s (bf16 +
channels_last, batch 8, masks at the original size) and the process's peak resident memory.
OUT/results.json (OUT/rescored.json) holds the same and each class's IoU.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from common import SHARED_DATA, has_voc_data, report_result, run_child
from rich.console import Console
from rich.table import Table

from vocvision.fileio import write_json

# SegmenterConfig overrides per variant; "default" is the shipped configuration.
VARIANTS: dict[str, dict] = {
    "default": {},
    "unet": {"arch": "unet"},
    "deeplabv3plus": {"arch": "deeplabv3plus"},
    "scratch_unet": {"arch": "unet", "pretrained": "none"},
    "lite2": {"backbone": "tf_efficientnet_lite2"},
    "ce": {"loss": "ce", "loss_weights": [1.0]},
    "focal_dice": {"loss": "focal+dice", "loss_weights": [1.0, 0.5]},
    "combo": {"loss": "ce+dice", "loss_weights": [0.05, 0.95]},
    "weighted_ce": {"class_weighting": "inverse_sqrt"},
    "strong_aug": {"augment": "strong"},
    "onecycle": {"scheduler": "onecycle"},
    "sgdr": {"scheduler": "sgdr"},
    "decoder_64": {"decoder_width": 64},
    "decoder_128": {"decoder_width": 128},
    "size_320": {"image_size": 320},
    "size_384": {"image_size": 384},
    "square_inference": {"inference_square": True},
}
TTA = {
    "plain": {},
    "flip": {"flip": True},
    "flip+scales": {"flip": True, "scales": (0.75, 1.0, 1.25)},
    "flip+scales+crf": {"flip": True, "scales": (0.75, 1.0, 1.25), "crf": True},
}


def run_variant(data: Path, name: str, overrides: dict, out: Path, rescore: bool) -> dict:
    """Train one variant and score it on val; runs inside its own process. `rescore` skips
    the training and scores the run already under `out`, its saved segmenter settings
    updated with `overrides` (e.g. another inference geometry)."""
    import numpy as np

    import vocvision as vv
    from vocvision.config import RunConfig
    from vocvision.data import read_split
    from vocvision.inference import predict_masks
    from vocvision.launcher import configure_threads
    from vocvision.metrics import segmentation_metrics

    configure_threads()
    run_dir = out / name
    train_seconds = float("nan")
    if not rescore:
        config = RunConfig()
        for key, value in overrides.items():
            config.set(f"segmenter.{key}={json.dumps(value)}")
        started = time.perf_counter()
        vv.train(data, run_dir, config, models=("segmenter",), progress=False)
        train_seconds = time.perf_counter() - started
    val = read_split(data, "val")
    truths = [s.mask for s in val.samples]
    pixels = [s.image for s in val.samples]
    run = vv.Run.load(run_dir)
    if rescore:
        for key, value in overrides.items():
            run.config.assign(f"segmenter.{key}", value)
    segmenter = run.models.segmenter
    model, geometry = segmenter.model, segmenter.task.inference_options(tta=False)
    geometry.pop("crf")  # each TTA row says whether it has the CRF
    predict_masks(model, pixels[:8], **geometry)  # warm-up
    rows = []
    for tta, options in TTA.items():
        started = time.perf_counter()
        masks = predict_masks(model, pixels, **geometry, **options)
        seconds = time.perf_counter() - started
        m = segmentation_metrics(masks, truths, val.num_classes, val.has_background)
        rows.append(
            {
                "variant": name,
                "tta": tta,
                **{k: v for k, v in m.items() if isinstance(v, float)},
                "per_class_iou": dict(
                    zip(["background", *val.classes], m["per_class_iou"].tolist(), strict=True)
                ),
                "train_s": train_seconds,
                "images_per_s": len(pixels) / seconds,
                "val_shape": "x".join(
                    str(v) for v in np.median([p.shape[:2] for p in pixels], 0).astype(int)
                ),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    return {"rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "msrc21")
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="extra overrides for every variant, e.g. epochs=20",
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-bench/segmentation"))
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the variants' runs already under --out without training; "
        "--set then changes their saved settings, e.g. inference_square=true",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    if args.child:
        overrides = extra if args.rescore else {**VARIANTS[args.child], **extra}
        result = run_variant(args.data, args.child, overrides, args.out, args.rescore)
        report_result(result)
        return 0
    console = Console(width=max(160, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    rows = []
    for name in args.variants:
        child = ["--data", str(args.data), "--out", str(args.out), "--child", name]
        child += [*(["--rescore"] if args.rescore else []), "--set", *args.set]
        result = run_child(__file__, child, name, console)
        if result is None:
            continue
        rows += result["rows"]
        console.print(f"{name}: done ({rows[-1]['train_s']:.0f} s training)")
    binary = any("iou" in r for r in rows)
    columns = ["mIoU", "mean_dice", "pixel_accuracy", "kaggle_dice"]
    columns += ["dice", "iou", "precision", "recall"] if binary else []
    table = Table(title=f"Segmentation, {args.data.name}: train -> val {extra or ''}")
    for column in ["variant", "TTA", *columns, "train s", "img/s", "val HxW", "peak MB"]:
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["variant"],
            r["tta"],
            *(f"{r[c]:.4f}" for c in columns),
            f"{r['train_s']:.0f}",
            f"{r['images_per_s']:.1f}",
            r["val_shape"],
            f"{r['peak_mb']:.0f}",
        )
    console.print(table)
    write_json(args.out / ("rescored.json" if args.rescore else "results.json"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""PGD against a trained run's classifier and segmenter on MSRC-v2 val.

Images are resized to each model's input size (the attack works in that pixel space), put on
the 8-bit grid, attacked untargeted with PGD (L-inf, random start) and scored clean vs
adversarial: classification per-image Dice (the run's labelling threshold), segmentation mIoU
over the classes present, PSNR, and seconds per image.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
      .venv/bin/python benchmarks/msrc_attacks.py --run /tmp/vocvision-bench/msrc_kaggle/run

(the run folder benchmarks/msrc_kaggle.py leaves behind).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import SHARED_DATA, has_voc_data
from rich.console import Console
from rich.table import Table

from vocvision import pipeline
from vocvision.attacks import PGD
from vocvision.data import read_split
from vocvision.inference import apply_thresholds
from vocvision.launcher import configure_threads
from vocvision.metrics import confusion_matrix, dice_per_image, iou_per_class


def _batch(images, size: int) -> torch.Tensor:
    resized = [
        F.interpolate(
            torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255,
            size=(size, size),
            mode="bilinear",
            antialias=True,
        )
        for img in images
    ]
    return (torch.cat(resized) * 255).round() / 255


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = (a - b).pow(2).flatten(1).mean(1)
    return float((10 * torch.log10(1 / mse.clamp(min=1e-12))).median())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "msrc21")
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--eps", type=float, default=4 / 255)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--images", type=int, default=53)
    args = parser.parse_args()
    console = Console(width=max(120, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    val = read_split(args.data, "val").subset(range(args.images))
    models = pipeline.load_run_models(args.run)
    rule = pipeline.labelling(args.run)
    table = Table(title=f"PGD-{args.steps} L-inf eps={args.eps * 255:.0f}/255, {len(val)} images")
    for column in ("model", "metric", "clean", "adversarial", "ratio", "PSNR dB", "s/image"):
        table.add_column(column, justify="right")

    model, hp = models["classifier"]
    images = _batch([s.image for s in val.samples], hp["image_size"])
    truth = torch.from_numpy(val.label_matrix()).float()
    started = time.perf_counter()
    adversarial = PGD(model, args.eps, steps=args.steps)(images, truth)
    seconds = (time.perf_counter() - started) / len(val)
    with torch.no_grad():
        clean_p, adv_p = model(images).sigmoid().numpy(), model(adversarial).sigmoid().numpy()
    clean = dice_per_image(apply_thresholds(clean_p, rule["threshold"]), truth.numpy()).mean()
    adv = dice_per_image(apply_thresholds(adv_p, rule["threshold"]), truth.numpy()).mean()
    table.add_row(
        "classifier",
        "per-image Dice",
        f"{clean:.4f}",
        f"{adv:.4f}",
        f"{adv / clean:.3f}",
        f"{_psnr(adversarial, images):.1f}",
        f"{seconds:.2f}",
    )

    model, hp = models["segmenter"]
    size = hp["image_size"]
    images = _batch([s.image for s in val.samples], size)
    masks = torch.cat(
        [
            F.interpolate(
                torch.from_numpy(s.mask)[None, None].float(), size=(size, size), mode="nearest"
            )[0].long()
            for s in val.samples
        ]
    )
    started = time.perf_counter()
    adversarial = PGD(model, args.eps, steps=args.steps, weighting="segpgd")(images, masks)
    seconds = (time.perf_counter() - started) / len(val)
    k = val.num_classes + 1
    scores = []
    for batch in (images, adversarial):
        with torch.no_grad():
            predicted = model(batch).argmax(1).numpy()
        iou = iou_per_class(confusion_matrix(predicted, masks.numpy(), k))
        scores.append(float(np.nanmean(iou)))
    table.add_row(
        "segmenter",
        "mIoU",
        f"{scores[0]:.4f}",
        f"{scores[1]:.4f}",
        f"{scores[1] / scores[0]:.3f}",
        f"{_psnr(adversarial, images):.1f}",
        f"{seconds:.2f}",
    )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

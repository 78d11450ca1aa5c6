"""Segmenter inference speed: images/s of a trained run's segmenter on a split's images, masks
at the original resolution, in float32, in bf16 autocast and in bf16 autocast with
`torch.compile` (all channels_last), one view each; then in bf16 with the run's own test-time
augmentation and dense CRF (by default flip and 3 scales, and the CRF on multi-class sets with
a background class: what `vocvision predict` does), without and with `torch.compile`.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \\
      .venv/bin/python benchmarks/segmentation_speed.py \\
      --run /tmp/vocvision-bench/seg-camvid/default --data ../shared/data/camvid

Each setting is timed `--repeats` times after a warm-up; the median is printed. The warm-up
of the compiled model is its compilation, printed as "first call s" (minutes the first time,
seconds once PyTorch's on-disk cache under /tmp holds the compiled code).
"""

from __future__ import annotations

import statistics
import sys
import time

from common import has_voc_data, speed_parser
from rich.console import Console
from rich.table import Table

import vocvision as vv
from vocvision.data import read_split
from vocvision.inference import predict_masks
from vocvision.launcher import configure_threads


def main() -> int:
    parser = speed_parser(__doc__)
    args = parser.parse_args()
    console = Console(width=max(120, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    images = read_split(args.data, args.split)
    pixels = [s.image for s in images.samples[: args.images]]
    segmenter = vv.Run.load(args.run).models.segmenter
    model, task = segmenter.model, segmenter.task
    one_view = task.inference_options(tta=False)
    geometry = {k: one_view[k] for k in ("size", "square", "tile")}
    shape = "x".join(map(str, pixels[0].shape[:2]))
    table = Table(title=f"{len(pixels)} {args.data.name} images of {shape}, {args.run}")
    for column in ("precision", "input", "first call s", "median s", "images/s"):
        table.add_column(column, justify="right")
    tta = {k: v for k, v in task.inference_options().items() if k not in geometry}
    settings = (
        ("float32", {"fast": False}),
        ("bf16 autocast", {"fast": True}),
        ("bf16 autocast + torch.compile", {"fast": True, "compile_model": True}),
        (f"bf16 autocast, the run's TTA {_views(tta)}", {"fast": True, **tta}),
        ("the same + torch.compile", {"fast": True, "compile_model": True, **tta}),
    )
    for name, options in settings:
        started = time.perf_counter()
        predict_masks(model, pixels[:8], **options, **geometry)  # warm-up
        first = time.perf_counter() - started
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            predict_masks(model, pixels, **options, **geometry)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        size = f"{geometry['size']}^2" if geometry["square"] else f"side {geometry['size']}"
        table.add_row(name, size, f"{first:.1f}", f"{median:.2f}", f"{len(pixels) / median:.1f}")
    console.print(table)
    return 0


def _views(tta: dict) -> str:
    scales = ", ".join(f"{scale:g}x" for scale in tta["scales"])
    return f"({'flip, ' if tta['flip'] else ''}{scales}{', CRF' if tta['crf'] else ''})"


if __name__ == "__main__":
    sys.exit(main())

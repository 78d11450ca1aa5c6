"""Inference engines side by side: images/s and peak memory of a run's segmenter (masks at
full resolution, one view, no CRF) and classifier in torch float32, torch bf16 autocast,
torch.compile (bf16) and ONNX Runtime in several settings (`OrtSettings`: graph
optimisations, intra-op threads, sequential or parallel execution, thread spinning, memory
arena), on a split of a dev set. Each engine runs in its own process (so the peak memory is its
own), warms up on 8 images, then times `--repeats` passes; the median is printed.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \\
      .venv/bin/python benchmarks/engines.py --run RUN --data ../shared/data/camvid

Speed does not depend on the weights' values, so a short training run of the same
architecture measures the same as a long one.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

from common import has_voc_data, report_result, run_child, speed_parser
from rich.console import Console
from rich.table import Table

ENGINES = {
    "torch float32": {"engine": "torch", "fast": False},
    "torch bf16 autocast": {"engine": "torch", "fast": True},
    "torch.compile, bf16": {"engine": "torch", "fast": True, "compile_model": True},
    "ORT default (all opts, threads = cores, no spinning)": {"engine": "onnxruntime", "ort": {}},
    "ORT 1 thread": {"engine": "onnxruntime", "ort": {"threads": 1}},
    "ORT parallel execution": {"engine": "onnxruntime", "ort": {"parallel": True}},
    "ORT parallel, 1 intra-op thread": {
        "engine": "onnxruntime",
        "ort": {"parallel": True, "threads": 1},
    },
    "ORT with thread spinning": {"engine": "onnxruntime", "ort": {"spinning": True}},
    "ORT no memory arena": {"engine": "onnxruntime", "ort": {"memory_arena": False}},
    "ORT extended opts (no layout)": {"engine": "onnxruntime", "ort": {"optimization": "extended"}},
    "ORT basic opts": {"engine": "onnxruntime", "ort": {"optimization": "basic"}},
}


def measure(run_dir: Path, data: Path, split: str, images: int, repeats: int, name: str) -> dict:
    """Runs inside its own process: time one engine on both models."""
    import vocvision as vv
    from vocvision.data import read_split
    from vocvision.inference.engines import OrtSettings
    from vocvision.launcher import configure_threads
    from vocvision.workflow.export import load_onnx_models

    configure_threads()
    options = dict(ENGINES[name])
    run = vv.Run.load(run_dir)
    if options.pop("engine") == "onnxruntime":
        settings = OrtSettings(**options.pop("ort"))
        models = load_onnx_models(run.folder, run.info, run.folder.layout.export_dir, settings)
        options["fast"] = False
    else:
        models = run.models
    pixels = [s.image for s in read_split(data, split).samples[:images]]
    result = {
        "engine": name,
        "images": len(pixels),
        "shape": "x".join(map(str, pixels[0].shape[:2])),
    }
    for model_name, trained in models.items():
        task = trained.task
        if task.dense:

            def predict(batch, task=task, model=trained.model):
                return task.predict(model, batch, tta=False, crf=False, **options)
        else:

            def predict(batch, task=task, model=trained.model):
                return task.predict(model, batch, tta=False, **options)

        started = time.perf_counter()
        predict(pixels[:8])
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict(pixels)
            times.append(time.perf_counter() - started)
        result[model_name] = {
            "first_s": first,
            "images_per_s": len(pixels) / statistics.median(times),
        }
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> int:
    parser = speed_parser(__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.run, args.data, args.split, args.images, args.repeats, args.child)
        report_result(result)
        return 0
    console = Console(width=max(140, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    rows = []
    for name in ENGINES:
        child = ["--run", str(args.run), "--data", str(args.data), "--split", args.split]
        child += ["--images", str(args.images), "--repeats", str(args.repeats), "--child", name]
        result = run_child(__file__, child, name, console, tail=2000)
        if result is not None:
            rows.append(result)
    table = Table(
        title=f"{args.data.name} {args.split}: {rows[0]['images']} images of "
        f"{rows[0]['shape']}, {args.run}"
        if rows
        else "no engine ran"
    )
    for column in (
        "engine",
        "segmenter images/s",
        "classifier images/s",
        "first call s",
        "peak MB",
    ):
        table.add_column(column, justify="right")
    for r in rows:
        seg, cls = r.get("segmenter", {}), r.get("classifier", {})
        table.add_row(
            r["engine"],
            f"{seg.get('images_per_s', float('nan')):.1f}",
            f"{cls.get('images_per_s', float('nan')):.1f}",
            f"{seg.get('first_s', 0) + cls.get('first_s', 0):.1f}",
            f"{r['peak_mb']:.0f}",
        )
    console.print(table)
    if rows:
        best = max(rows, key=lambda r: r.get("segmenter", {}).get("images_per_s", 0))
        console.print(f"fastest segmenter: {best['engine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Segmentation levers for thin and small classes, measured by cross-validation.

The dev set's train and val images are pooled and split into `--folds` folds
(multilabel-stratified by the classes present). For each lever and fold the segmenter trains
on the other folds (with its own 15 % validation part) for `--minutes` of wall time (the
epochs that fit, the schedule shortened to match), then predicts the held-out fold with one
view and no CRF, so the score is the lever's own. Every image is held out once: each lever
is scored on all of them, and compared with `default` by a paired bootstrap over images.

    export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736
    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/levers.py \\
      --data ../shared/data/camvid --out /tmp/vocvision-bench/levers-camvid --minutes 5
    .venv/bin/python benchmarks/levers.py --data ../shared/data/camvid \\
      --out /tmp/vocvision-bench/levers-camvid --table

`--group-pattern REGEX` keeps the groups it names in the image ids (for CamVid '[^_]+', the
video sequences) in one fold, and on one side of each training's validation part
(`--val-group-pattern` for a finer one there, e.g. '[^_]+_f?\\d{3}', stretches of a sequence,
where a fold's training part holds one sequence): folds that split one sequence's frames
flatter every lever (issue 26's +0.012 on mixed folds gained nothing on unseen stretches of
road).

`--inference job` scores the same trained folds the way `vocvision run` predicts: the
config's test-time augmentation (flip + scales) and its dense CRF (on for data with a
background and several classes). A fold already trained is only predicted again.

Each (lever, fold) is saved as OUT/<lever>/fold<k>.npz (fold<k>-job.npz with `--inference
job`) once done; a rerun skips those, so the work can be split between processes pinned to
a core each (`--levers`, `--only-folds`). `self_train` fine-tunes on the held-out fold's
images (never their masks) after training.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from common import SHARED_DATA, has_voc_data
from rich.console import Console
from rich.table import Table

from vocvision.config import RunConfig
from vocvision.data import read_split
from vocvision.data.splits import image_groups, stratified_folds
from vocvision.evaluation.comparisons import image_confusions
from vocvision.evaluation.mask_report import image_dice
from vocvision.fileio import write_text
from vocvision.launcher import configure_threads
from vocvision.layout import ModelLayout
from vocvision.metrics import scores_from_confusion
from vocvision.training import trained_epochs
from vocvision.uncertainty import compare, mean_of, miou_of


def levers(images) -> dict[str, dict]:
    """SegmenterConfig overrides per lever. `full_resolution` trains on crops that keep the
    data's own pixel scale at 256 px (half to 1.5 times that area) and predicts at the
    images' own shorter side."""
    height, width = np.median([s.image.shape[:2] for s in images.samples], 0)
    native = min(1.0, 256**2 / (height * width))
    return {
        "default": {},
        "before_speed": {"precision": "32-true", "progressive_scale": 1.0, "freeze_epochs": 0},
        "no_progressive": {"progressive_scale": 1.0},
        "no_freeze": {"freeze_epochs": 0},
        "progressive_70": {"progressive_share": 0.7},
        "ce_dice": {"loss": "ce+dice"},
        "ohem": {"loss": "ohem+dice"},
        "class_balanced": {"class_weighting": "inverse_sqrt"},
        "ema": {"ema_decay": 0.98},
        "multi_scale": {"min_crop_scale": 0.1},
        "full_resolution": {
            "min_crop_scale": round(native / 2, 3),
            "max_crop_scale": round(min(1.0, native * 1.5), 3),
            "inference_side": int(min(height, width)),
        },
        "lite2": {"backbone": "tf_efficientnet_lite2"},
        "self_train": {"self_train": True},
    }


def fold_folders(data: Path, out: Path, folds: int, group_pattern: str | None) -> list[Path]:
    """One VOC-layout folder per fold (links to the images and masks): `train` = the other
    folds, `val` = the held-out fold; with `group_pattern`, each group of ids (one video
    sequence) in one fold."""
    images = read_split(data, "train")
    images.samples += read_split(data, "val").samples
    by_id = {s.id: s for s in images.samples}
    pooled = sorted(by_id)
    labels = np.stack([by_id[i].labels for i in pooled])
    held_out = stratified_folds(labels, folds, 0, image_groups(pooled, group_pattern))
    made = []
    for k, held in enumerate(held_out):
        root = out / "folds" / f"fold{k}"
        sets = root / "ImageSets" / "Segmentation"
        sets.mkdir(parents=True, exist_ok=True)
        for name in ("JPEGImages", "SegmentationClass", "labelmap.json"):
            # Processes pinned to a core each may build the same folders at once (the split
            # files below are written whole, renamed into place, for the same reason).
            with contextlib.suppress(FileExistsError):
                (root / name).symlink_to((data / name).resolve())
        held_ids = [pooled[i] for i in held]
        train_ids = [pooled[i] for i in sorted(set(range(len(pooled))) - set(held))]
        write_text(sets / "train.txt", "\n".join(train_ids) + "\n")
        write_text(sets / "val.txt", "\n".join(held_ids) + "\n")
        made.append(root)
    return made


def train_fold(fold: Path, lever: str, overrides: dict, minutes: float, out: Path) -> Path:
    """Train `lever` on `fold`'s train split (once: a run already trained is reused) and
    return its run folder, with its training seconds in `trained.json`."""
    from vocvision.training import EpochBudget
    from vocvision.workflow.train_run import train_run

    run_dir = out / lever / f"{fold.name}-run"
    record = run_dir / "trained.json"
    if record.is_file():
        return run_dir
    config = RunConfig()
    top_level = {f.name for f in dataclasses.fields(RunConfig)}
    for key, value in overrides.items():
        where = key if key in top_level else f"segmenter.{key}"
        config.set(f"{where}={json.dumps(value)}")
    started = time.perf_counter()
    train_run(fold, run_dir, config, ("segmenter",), progress=False,
              callbacks=[EpochBudget(minutes * 60)])  # fmt: skip
    write_text(record, json.dumps({"seconds": time.perf_counter() - started}))
    return run_dir


def score_fold(fold: Path, run_dir: Path, job: bool, done: Path) -> None:
    """Predict `fold`'s held-out images with the run's segmenter (one view and no CRF, or
    with `job` the config's TTA and CRF) and save the per-image confusions and Dice."""
    from vocvision.api import Run

    held = read_split(fold, "val")
    run = Run.load(run_dir)
    segmenter = run.models.segmenter
    masks = segmenter.task.predict(segmenter.model, [s.image for s in held.samples], tta=job,
                                   crf=None if job else False)  # fmt: skip
    seconds = json.loads((run_dir / "trained.json").read_text())["seconds"]
    epochs = trained_epochs(ModelLayout(run_dir / "segmenter").metrics_csv)
    np.savez(done, ids=held.ids, confusions=image_confusions(masks, held),
             dice=image_dice(masks, held), seconds=seconds, background=run.info.has_background,
             classes=np.array(held.classes), epochs=epochs)  # fmt: skip


def _load(out: Path, name: str, suffix: str, folds: list[str] | None = None) -> dict | None:
    """One lever's saved folds scored with `suffix`'s inference (only `folds`, by file
    name, when given), images by id."""
    parts = sorted(p for p in (out / name).glob("fold*.npz") if _is_scored(p.stem, suffix))
    parts = [p for p in parts if folds is None or p.name in folds]
    if not parts:
        return None
    loaded = [np.load(p) for p in parts]
    order = np.argsort(np.concatenate([x["ids"] for x in loaded]))
    return {
        "folds": [p.name for p in parts],
        "confusions": np.concatenate([x["confusions"] for x in loaded])[order],
        "dice": np.concatenate([x["dice"] for x in loaded])[order],
        "seconds": float(np.mean([x["seconds"] for x in loaded])),
        "epochs": float(np.mean([x["epochs"] for x in loaded])),
        "background": bool(loaded[0]["background"]),
        "classes": list(loaded[0]["classes"]),
    }


def _is_scored(stem: str, suffix: str) -> bool:
    """Whether `stem` names a fold scored with `suffix`'s inference ("fold1", "fold1-job")."""
    fold, _, rest = stem.partition("-")
    return fold[4:].isdigit() and (f"-{rest}" if rest else "") == suffix


def table(out: Path, names: list[str], suffix: str, console: Console) -> None:
    """The levers' cross-validated scores, and each one's paired difference with default on
    the folds both have (a lever with fewer folds done is compared on those alone)."""
    results = {name: r for name in names if (r := _load(out, name, suffix)) is not None}
    base = results.get("default")
    how = "the job's TTA and CRF" if suffix else "one view, no CRF"
    rows = Table(title=f"{out.name}: segmentation levers, cross-validated ({how})")
    thin = _thinnest(base) if base else []
    columns = ["lever", "folds", "mIoU", "vs default (95 %)", "Kaggle Dice", "vs default (95 %)"]
    columns += [f"IoU {c}" for c in thin] + ["train s / fold", "epochs"]
    for column in columns:
        rows.add_column(column, justify="right")
    for name, r in results.items():
        n = len(r["dice"])
        miou = miou_of(r["confusions"], r["background"])
        cells = [name, str(len(r["folds"])), f"{miou(np.ones(n)):.4f}", ""]
        cells += [f"{r['dice'].mean():.4f}", ""]
        same = _load(out, "default", suffix, r["folds"]) if name != "default" else None
        if same is not None and same["folds"] == r["folds"]:
            for column, new, old in (
                (3, miou, miou_of(same["confusions"], same["background"])),
                (5, mean_of(r["dice"]), mean_of(same["dice"])),
            ):
                c = compare(new, old, n)
                cells[column] = f"{c.difference:+.4f} ({c.low:+.3f}..{c.high:+.3f}) {c.verdict}"
        per_class = _class_iou(r)
        cells += [f"{per_class[c]:.3f}" for c in thin]
        cells += [f"{r['seconds']:.0f}", f"{r['epochs']:.1f}"]
        rows.add_row(*cells)
    console.print(rows)


def _class_iou(result: dict) -> dict[str, float]:
    scores = scores_from_confusion(result["confusions"].sum(0), result["background"])
    return dict(zip(["background", *result["classes"]], scores["per_class_iou"], strict=True))


def _thinnest(result: dict, count: int = 4) -> list[str]:
    """The classes with the fewest labelled pixels (the thin and small ones)."""
    pixels = result["confusions"].sum((0, 2))[1:]
    present = [i for i in np.argsort(pixels, kind="stable") if pixels[i] > 0]
    return [str(result["classes"][i]) for i in present[:count]]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "camvid")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-bench/levers"))
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--only-folds", type=int, nargs="*", help="these folds alone")
    parser.add_argument("--minutes", type=float, default=5, help="training wall time per fold")
    parser.add_argument("--levers", nargs="+", help="default: all")
    parser.add_argument("--inference", choices=("plain", "job"), default="plain",
                        help="one view without CRF, or the job's TTA and CRF")  # fmt: skip
    parser.add_argument("--table", action="store_true", help="print the table of what is done")
    parser.add_argument("--group-pattern", help="keep the ids' groups in one fold")
    parser.add_argument("--val-group-pattern", help="validation groups (default: the folds')")
    args = parser.parse_args()
    console = Console(width=max(180, Console().width))
    if not has_voc_data(args.data, console):
        return 2
    configure_threads()
    folds = fold_folders(args.data, args.out, args.folds, args.group_pattern)
    options = levers(read_split(folds[0], "train"))
    names = args.levers or list(options)
    suffix = "-job" if args.inference == "job" else ""
    if args.table:
        table(args.out, names, suffix, console)
        return 0
    for name in names:
        for k, fold in enumerate(folds):
            done = args.out / name / f"{fold.name}{suffix}.npz"
            if done.is_file() or (args.only_folds is not None and k not in args.only_folds):
                continue
            started = time.perf_counter()
            val_groups = args.val_group_pattern or args.group_pattern
            overrides = options[name] | {"group_pattern": val_groups}
            run_dir = train_fold(fold, name, overrides, args.minutes, args.out)
            score_fold(fold, run_dir, args.inference == "job", done)
            console.print(f"{name} {fold.name}: {time.perf_counter() - started:.0f} s")
    table(args.out, names, suffix, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())

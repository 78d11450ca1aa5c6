"""The bad-input matrix: each hostile-but-fair case run as a user would (`vocvision ...` in a
fresh process, on the built-in synthetic data), with its exit status, the first line it
printed and whether the outputs that were there before are intact.

    .venv/bin/python benchmarks/bad_inputs.py [--out /tmp/vocvision-bad]

Prints a table (and `--markdown` the same as markdown). Takes a few minutes (it trains a
tiny run first).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

from vocvision.data import read_kaggle, write_synthetic_dataset, write_voc
from vocvision.data.synthetic import make_synthetic
from vocvision.models import Segmenter
from vocvision.submission import write_submission

SETTINGS = (
    "classifier.image_size=64",
    "segmenter.image_size=64",
    "classifier.folds=3",
    "val_fraction=0.25",
)
TINY = ["--epochs", "1", "--accelerator", "cpu", *(x for s in SETTINGS for x in ("--set", s))]


class Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def digest(path: Path) -> str:
    files = [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
    return hashlib.sha1(b"".join(p.read_bytes() for p in files if p.exists())).hexdigest()


def vocvision(*args, env: dict | None = None) -> tuple[int, str]:
    command = [sys.executable, "-m", "vocvision", *map(str, args)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") or "Traceback" in line]
    return done.returncode, (errors or lines or [""])[0][:160]


def prepare(out: Path) -> dict[str, Path]:
    """The data and runs the cases start from."""
    p = {"data": out / "data", "run": out / "run", "voc21": out / "voc21"}
    write_synthetic_dataset(p["data"], 24, 6, seed=0, size=(48, 64))
    assert vocvision("train", p["data"], "--out", p["run"], *TINY)[0] == 0
    vocvision("predict", p["run"])
    vocvision("submit", p["run"])
    classes = make_synthetic(4, seed=2, size=(32, 40))
    write_voc(classes, p["voc21"], "val")
    labelmap = json.loads((p["voc21"] / "labelmap.json").read_text())
    labelmap["classes"] = ["background", *[f"c{i}" for i in range(20)]]
    (p["voc21"] / "labelmap.json").write_text(json.dumps(labelmap))
    return p


def copy(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def submissions(p: dict[str, Path], out: Path) -> dict[str, Path]:
    truth = read_kaggle(p["data"], "truth")
    good = out / "good.csv"
    write_submission(good, truth.ids, truth.label_matrix(), [s.mask for s in truth.samples], 5)
    lines = good.read_text().splitlines()
    first = lines[1].split(",")[0]
    made = {
        "wrong header": ["id,prediction", *lines[1:]],
        "duplicate ids": [*lines, lines[1]],
        "extra rows": [*lines, "999_classification,1 1"],
        "run past the end": [lines[0], f"{first},1 6", *lines[2:]],
        "huge integers": [lines[0], f"{first},1 {'9' * 40}", *lines[2:]],
    }
    paths = {}
    for name, content in made.items():
        paths[name] = out / f"{name.replace(' ', '_')}.csv"
        paths[name].write_text("\n".join(content) + "\n")
    raw = {
        "empty file": b"",
        "binary garbage": b"\x89PNG\r\n\x1a\n\xff\xfe",
        "latin-1": "Id,Predicted\n1_classification,caf\xe9\n".encode("latin-1"),
    }
    for name, data in raw.items():
        paths[name] = out / f"{name.replace(' ', '_')}.csv"
        paths[name].write_bytes(data)
    return paths


def cases(p: dict[str, Path], out: Path) -> list[tuple[str, list, Path, dict]]:
    """(case, command, the output that must stay intact, environment) per case."""
    run, data = p["run"], p["data"]
    swapped = copy(data, out / "swapped")
    csv = swapped / "test" / "test_set.csv"
    table = pd.read_csv(csv, dtype={"Id": str})
    cols = list(table.columns)
    cols[1], cols[2] = cols[2], cols[1]
    table[cols].to_csv(csv, index=False)
    run21 = copy(run, out / "run21")
    Segmenter(21, pretrained="none").save_pretrained(run21 / "segmenter", image_size=64)
    empty_npy = copy(data, out / "empty_npy")
    (empty_npy / "train" / "img" / "train_3.npy").write_bytes(b"")
    empty_npz = copy(run, out / "empty_npz")
    (empty_npz / "predictions" / "test.npz").write_bytes(b"")
    no_masks = copy(data, out / "no_masks")
    shutil.rmtree(no_masks / "train" / "seg")
    voc_hole = out / "voc_hole"
    write_voc(make_synthetic(8, seed=0, size=(32, 40)), voc_hole, "train")
    (voc_hole / "SegmentationClass" / "3.png").unlink()
    truncated = copy(run, out / "truncated")
    last = truncated / "segmenter" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    bad_info = copy(run, out / "bad_info")
    (bad_info / "run.json").write_text((bad_info / "run.json").read_text()[:50])
    config = out / "config.json"
    config.write_text('{"seed": 1, "classifier": {')
    crafted = copy(run, out / "crafted")
    for name in ("classifier", "segmenter"):
        for ckpt in ("best.ckpt", "last.ckpt"):
            target = crafted / name / "checkpoints" / ckpt
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"state_dict": Payload(out / "pwned"), "hyper_parameters": {}}, target)
    unsafe = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    subs = submissions(p, out)
    other = copy(data, out / "other")
    seg, own = crafted / "segmenter" / "model.safetensors", run / "predictions" / "test.npz"
    resume_seg = ["--model", "segmenter", "--resume", *TINY]
    rows = [
        ("--epochs 0", ["train", data, "--out", run, "--epochs", "0"], run, {}),
        ("--max-train-images 0", ["train", data, "--out", run, "--max-train-images", "0"], run, {}),
        ("--devices 0", ["train", data, "--out", run, "--devices", "0"], run, {}),
        ("submit --threshold 2", ["submit", run, "--threshold", "2"], run, {}),
        ("submit --threshold nan", ["submit", run, "--threshold", "nan"], run, {}),
        (
            "run given 21-class data",
            ["predict", run, "--data", p["voc21"], "--split", "val"],
            run,
            {},
        ),
        ("test CSV columns swapped", ["predict", run, "--data", swapped], run, {}),
        ("21-class model in a 5-class run", ["predict", run21], run21, {}),
        ("predict --data OTHER: own predictions kept", ["predict", run, "--data", other], own, {}),
        (
            "train on data without masks: the classifier alone, segmenter intact",
            ["train", no_masks, "--out", copy(run, out / "run_nomasks"), *TINY],
            out / "run_nomasks" / "segmenter",
            {},
        ),
        ("zero-byte .npy", ["train", empty_npy, "--out", out / "r0"], empty_npy, {}),
        ("zero-byte predictions .npz", ["submit", empty_npz], empty_npz / "submission.csv", {}),
        ("VOC id with no mask", ["train", voc_hole, "--out", out / "r1"], voc_hole, {}),
        (
            "truncated checkpoint, --resume",
            ["train", data, "--out", truncated, *resume_seg],
            truncated / "segmenter" / "model.safetensors",
            {},
        ),
        ("crafted pickle checkpoints, predict", ["predict", crafted], seg, unsafe),
        (
            "crafted pickle, train --resume",
            ["train", data, "--out", crafted, *resume_seg],
            seg,
            unsafe,
        ),
        ("truncated run.json", ["predict", bad_info], bad_info / "predictions", {}),
        ("truncated config file", ["train", data, "--config-file", config], config, {}),
        (
            "permission denied (--out /sys/x)",
            ["train", data, "--out", "/sys/vocvision-x"],
            data,
            {},
        ),
        ("path that is not UTF-8", ["train", str(out) + "/data-\udcff"], data, {}),
    ]
    rows += [
        (f"score: {name}", ["score", path, "--truth", data / "truth"], path, {})
        for name, path in subs.items()
    ]
    return rows + later_cases(p, out) + layout_cases(p, out)


def later_cases(p: dict[str, Path], out: Path) -> list[tuple[str, list, Path, dict]]:
    """Cases found after the first matrix: labels and labelmaps that contradict themselves,
    settings that name nothing, outputs aimed at the data or at a non-empty folder."""
    run, data = p["run"], p["data"]
    label_2 = copy(data, out / "label_2")
    csv = label_2 / "train" / "train_set.csv"
    table = pd.read_csv(csv)
    table.loc[3, table.columns[1]] = 2
    table.to_csv(csv, index=False)
    voc = out / "voc"
    write_voc(make_synthetic(6, seed=0, size=(32, 40)), voc, "train")
    write_voc(make_synthetic(6, seed=0, size=(32, 40)), voc, "val")
    spec = json.loads((voc / "labelmap.json").read_text())
    repeated, ignore_clash, listed_twice = (copy(voc, out / n) for n in ("rep", "ign", "twice"))
    (repeated / "labelmap.json").write_text(
        json.dumps({**spec, "classes": [*spec["classes"][:-1], spec["classes"][1]]})
    )
    (ignore_clash / "labelmap.json").write_text(json.dumps({**spec, "ignore_index": 1}))
    listing = listed_twice / "ImageSets" / "Segmentation" / "train.txt"
    listing.write_text(listing.read_text() + "2\n")
    full = out / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    return [
        ("label CSV holding 2", ["train", label_2, "--out", out / "r2"], label_2, {}),
        ("labelmap: a class listed twice", ["train", repeated, "--out", out / "r3"], repeated, {}),
        (
            "labelmap: ignore index is a class",
            ["train", ignore_clash, "--out", out / "r4"],
            ignore_clash,
            {},
        ),
        ("VOC id listed twice", ["train", listed_twice, "--out", out / "r5"], listed_twice, {}),
        (
            "unknown backbone",
            ["train", data, "--out", out / "r6", "--set", "classifier.backbone=resnet9999"],
            data,
            {},
        ),
        ("run --only ''", ["run", data, "--out", out / "r7", "--only", ""], data, {}),
        ("train --out DATA", ["train", data, "--out", data], data, {}),
        ("attack the unlabelled test split", ["attack", run, "--split", "test"], run, {}),
        ("attack --model foo", ["attack", run, "--model", "foo"], run, {}),
        (
            "predict --masks-dir inside the data",
            ["predict", run, "--masks-dir", data / "train" / "seg"],
            data,
            {},
        ),
        ("convert into a non-empty folder", ["convert", voc, full], full, {}),
        ("convert into its own source", ["convert", voc, voc], voc, {}),
    ]


def layout_cases(p: dict[str, Path], out: Path) -> list[tuple[str, list, Path, dict]]:
    """The plain layouts (images + masks, images + labels.csv, a folder of images) and a
    predictions file of another run (issue 37)."""
    run, data = p["run"], p["data"]
    own = run / "predictions" / "test.npz"
    folders = out / "folders"
    vocvision("convert", data, folders, "--to", "folders")
    colours = copy(folders, out / "colours")
    mask = next((colours / "masks").glob("*.png"))
    Image.open(mask).convert("RGB").save(mask)
    labels = out / "labels"
    vocvision("convert", data, labels, "--to", "labels-csv")
    no_column, no_image = copy(labels, out / "no_column"), copy(labels, out / "no_image")
    table = pd.read_csv(labels / "labels.csv", keep_default_na=False)
    table.rename(columns={"labels": "tags"}).to_csv(no_column / "labels.csv", index=False)
    (no_image / "images" / table["image"][2]).unlink()
    photos = out / "photos"
    photos.mkdir()
    for path in sorted((folders / "images").glob("*.png"))[:3]:
        shutil.copy(path, photos / path.name)
    other = copy(run, out / "other_predictions")
    arrays = dict(np.load(other / "predictions" / "test.npz"))
    for key in ("scores", "labels"):
        arrays[key] = arrays[key][:, :4]
    arrays["classes"] = arrays["classes"][:4]
    np.savez(other / "predictions" / "test.npz", **arrays)
    return [
        ("images + masks: mask in colours", ["train", colours, "--out", out / "r8"], colours, {}),
        ("labels.csv: no labels column", ["train", no_column, "--out", out / "r9"], no_column, {}),
        ("labels.csv: row without image", ["train", no_image, "--out", out / "r10"], no_image, {}),
        ("predict a plain folder of images", ["predict", run, "--data", photos], own, {}),
        ("submit another run's predictions", ["submit", other], other / "submission.csv", {}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-bad"))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    p = prepare(args.out)
    table = Table(title="vocvision on bad input")
    for column in ("case", "exit", "message", "outputs intact"):
        table.add_column(column)
    lines = ["| case | exit | message | outputs intact |", "|---|---|---|---|"]
    for case, command, keep, env in cases(p, args.out):
        before = digest(keep)
        code, message = vocvision(*command, env=env)
        intact = "yes" if digest(keep) == before else "CHANGED"
        if "pickle" in case:
            intact += "; not executed" if not (args.out / "pwned").exists() else "; EXECUTED"
        table.add_row(case, str(code), message, intact)
        lines.append(f"| {case} | {code} | `{message.replace('|', '/')}` | {intact} |")
    Console(width=240).print(table)
    if args.markdown:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

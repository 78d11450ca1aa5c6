"""Shared by the benchmark scripts (run as `python benchmarks/<name>.py`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Headless Chromium on a closed network: without the background-networking flags it keeps
# trying to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def has_voc_data(data: Path, console: Console) -> bool:
    """True when `data` is a VOC-layout folder; else say clearly that nothing was measured."""
    if (data / "JPEGImages").is_dir():
        return True
    console.print(
        f"[red]MISSING DATA:[/red] {data} is not a VOC-layout folder; this benchmark needs "
        f"{SHARED_DATA / data.name} (nothing was measured)"
    )
    return False


def speed_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of the speed benchmarks: a run, a VOC-layout data folder and split, how
    many images, how many timed passes."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "camvid")
    parser.add_argument("--split", default="val")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    return parser


RESULT = "RESULT "  # the line a benchmark's child process reports its measurement on


def report_result(result: dict) -> None:
    """In a child process: hand `result` to the parent (`run_child`)."""
    print(RESULT + json.dumps(result))


def run_child(script: str, args: list[str], name: str, console: Console, tail: int = 3000):
    """Run `script` with `args` in a fresh Python process (so its timing and peak memory are
    its own) and return the result it reported, or None after printing why it failed."""
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    lines = [x for x in done.stdout.splitlines() if x.startswith(RESULT)]
    if done.returncode or not lines:
        console.print(f"[red]{name} failed[/red]\n{done.stderr[-tail:]}")
        return None
    return json.loads(lines[-1][len(RESULT) :])

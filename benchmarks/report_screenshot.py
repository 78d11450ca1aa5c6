"""Open a run's report.html in headless Chromium (Debian's `chromium`), check what a reader
sees, and save a screenshot.

Checks: the page loads without console errors or failed resources, the five sections of the
assignment are there in order, every figure's image decodes and has a caption. Prints a table
and writes the screenshot (the whole page, in 3000 px tall parts) next to `--out`.

    apt-get install -y chromium
    .venv/bin/python benchmarks/report_screenshot.py --run demo/run --out /tmp/report.png
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import html5lib
import numpy as np
from common import CHROMIUM_FLAGS
from PIL import Image
from rich.console import Console
from rich.table import Table

SECTIONS = [
    "1 Overview and data",
    "2 Classification",
    "3 Segmentation",
    "4 Adversarial attacks",
    "5 Discussion",
]
NS = "{http://www.w3.org/1999/xhtml}"


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            "chromium",
            *CHROMIUM_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page itself logged an error (not Chromium's own dbus noise)."""
    patterns = ("CONSOLE", "Uncaught", "Failed to load resource", "net::ERR")
    return [line for line in stderr.splitlines() if any(p in line for p in patterns)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="a run folder with report.html")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-report.png"))
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    console = Console()
    report = (args.run / "report.html").resolve()
    if shutil.which("chromium") is None or not report.is_file():
        console.print(f"[red]needs chromium on PATH and {report}[/red] (nothing was checked)")
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dom = chromium("--dump-dom", report.as_uri())
    page = html5lib.parse(dom.stdout)
    headings = ["".join(h.itertext()).strip() for h in page.iter(f"{NS}h2")]
    figures = list(page.iter(f"{NS}figure"))
    captioned = sum(1 for f in figures if f.find(f"{NS}figcaption") is not None)
    # A window taller than the page, trimmed to the last non-white row after the shot.
    height = 1500 + 1200 * len(figures) + 60 * sum(1 for _ in page.iter(f"{NS}tr"))
    shot = chromium(
        f"--screenshot={args.out}", f"--window-size={args.width},{height}", report.as_uri()
    )
    errors = console_errors(dom.stderr + shot.stderr)
    image = Image.open(args.out).convert("RGB")
    rows = np.flatnonzero((np.asarray(image) < 250).any(axis=(1, 2)))
    image = image.crop((0, 0, image.width, int(rows[-1]) + 20 if len(rows) else image.height))
    image.save(args.out)
    parts = []
    for i, top in enumerate(range(0, image.height, 3000)):
        part = args.out.with_name(f"{args.out.stem}-{i}{args.out.suffix}")
        image.crop((0, top, image.width, min(image.height, top + 3000))).save(part)
        parts.append(part)
    sections = [h for h in headings if re.match(r"\d ", h)]
    table = Table(title=f"{report} in headless Chromium")
    table.add_column("check")
    table.add_column("result")
    table.add_row("five sections in order", str(sections == SECTIONS))
    table.add_row("figures / with captions", f"{len(figures)} / {captioned}")
    table.add_row("console errors", str(len(errors)))
    table.add_row("screenshot", f"{args.out} ({image.width}x{image.height}, {len(parts)} parts)")
    console.print(table)
    for line in errors:
        console.print(f"[red]{line}[/red]")
    return 0 if sections == SECTIONS and captioned == len(figures) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())

"""The hand-in notebook: the report's five sections as markdown, its figures as cell outputs,
and code cells that redo each step through the Python API (`vocvision.Run`).

Opened in Jupyter (or uploaded to Kaggle) it shows everything without running; run, it loads
the run folder and rebuilds the figures, tables and submission.csv, or with `RETRAIN = True`
trains everything again from the data folder.
"""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
from nbformat import v4

from ..fileio import write_text
from ..runfolder import RunFolder
from .build import build_document
from .document import Bullets, Document, FigureRef, Improvement, Paragraph, Section, Table

SETUP = """import vocvision as vv
from pathlib import Path

vv.quiet()  # third-party tips and warnings off
DATA = Path({data!r})  # the data folder
RUN = Path({run!r})  # the run folder this notebook was written from
RETRAIN = False  # True: redo the whole job ({budget} minutes budgeted) into RUN
if RETRAIN:
    run, score = vv.run(DATA, RUN, budget_s={budget_s})
else:
    run = vv.Run.load(RUN)
run"""
SECTION_CODE = {
    "Classification": "run.evaluate().classification['summary']  # re-measured on {split}",
    "Segmentation": "run.show_results(6)  # image, truth, prediction on the validation part",
    "Adversarial attacks": (
        "results = run.attack(split='val', **ATTACKS) if RETRAIN else run.folder.read_attacks()\n"
        "results.table[['model', 'name', 'clean', 'adversarial', 'ratio', 'psnr', 'ssim']]"
    ),
}
SUBMIT = """submission = run.submit()  # writes RUN/submission.csv (validated first)
print(submission.path)
submission.score() if submission.truth else 'test answers hidden: upload to Kaggle'"""


def _markdown_table(table: Table) -> str:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) or " " for c in table.columns) + " |"]
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines) + (f"\n\n*{table.caption}*" if table.caption else "")


def _figure_cells(figure: FigureRef, number: int) -> list:
    name = figure.path.stem
    output = v4.new_output(
        "display_data",
        data={
            "image/png": base64.b64encode(figure.path.read_bytes()).decode(),
            "text/plain": f"<figure {name}>",
        },
    )
    code = v4.new_code_cell(f"run.figure({name!r})", outputs=[output])
    return [code, v4.new_markdown_cell(f"**Figure {number}:** {figure.caption}")]


class _Writer:
    def __init__(self) -> None:
        self.cells: list = []
        self.figures = 0
        self.text: list[str] = []

    def flush(self) -> None:
        if self.text:
            self.cells.append(v4.new_markdown_cell("\n\n".join(self.text)))
            self.text = []

    def section(self, section: Section, number: str, level: int = 2) -> None:
        self.text.append(f"{'#' * level} {number} {section.title}")
        for block in section.blocks:
            if isinstance(block, FigureRef):
                self.flush()
                self.figures += 1
                self.cells += _figure_cells(block, self.figures)
            elif isinstance(block, Table):
                self.text.append(_markdown_table(block))
            elif isinstance(block, Bullets):
                self.text.append("\n".join(f"- {item}" for item in block.items))
            elif isinstance(block, Improvement):
                self.text.append(f"> **Improvement:** {block.text}")
            elif isinstance(block, Paragraph):
                self.text.append(f"*{block.text}*" if block.note else block.text)
        for i, sub in enumerate(section.subsections, start=1):
            self.section(sub, f"{number}.{i}", level + 1)


def build_notebook(folder: RunFolder, document: Document | None = None):
    """The notebook of the run in `folder` (an nbformat v4 `NotebookNode`)."""
    document = document or build_document(folder)
    info, job = folder.read_info(), folder.read_job()
    budget_s = job.budget_s if job else 45 * 60
    writer = _Writer()
    writer.cells.append(
        v4.new_markdown_cell(
            f"# {document.title}\n\nWritten by vocvision from the run folder `{folder.root}`. "
            "Every number and figure below was measured by the run; the code cells redo each "
            "step with the Python API (set `RETRAIN = True` to train again)."
        )
    )
    setup = SETUP.format(
        data=str(info.data_dir),
        run=str(folder.root),
        budget=round(budget_s / 60),
        budget_s=budget_s,
    )
    writer.cells.append(v4.new_code_cell(setup))
    attacks = folder.read_attacks()
    for i, section in enumerate(document.sections, start=1):
        writer.section(section, str(i))
        writer.flush()
        code = SECTION_CODE.get(section.title)
        if code and (section.title != "Adversarial attacks" or attacks):
            if section.title == "Adversarial attacks":
                settings = {
                    "eps": attacks.eps,
                    "steps": attacks.steps,
                    "max_images": attacks.images,
                }
                writer.cells.append(v4.new_code_cell(f"ATTACKS = {settings!r}"))
            writer.cells.append(v4.new_code_cell(code.format(split="the answered split")))
    writer.cells.append(v4.new_markdown_cell("## The submission"))
    writer.cells.append(v4.new_code_cell(SUBMIT))
    notebook = v4.new_notebook(cells=writer.cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def write_notebook(folder: RunFolder) -> Path:
    """Write RUN/report.ipynb (atomically); returns its path."""
    path = folder.layout.notebook
    write_text(path, nbformat.writes(build_notebook(folder)))
    return path

"""The hand-in notebook: the report's five sections as markdown, its figures as cell outputs,
and code cells that redo each step through the Python API (`vocvision.Run`).

The job executes it (nbclient) in the run folder, so every code cell holds its output; run
again, it loads the run folder (`RUN`, its own folder) and redoes the cheap steps, encoder
call and submission.csv included; on Kaggle, or with `RETRAIN = True`, it trains everything
again from `DATA`.
"""

from __future__ import annotations

import base64
import copy
import logging
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import v4

from ..fileio import write_text
from ..runfolder import RunFolder
from .build import build_document
from .document import Bullets, Document, FigureRef, Improvement, Paragraph, Section, Table

log = logging.getLogger(__name__)

SETUP = """import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, in a notebook
import vocvision as vv  # noqa: E402

vv.quiet()  # third-party tips and warnings off
ON_KAGGLE = Path("/kaggle/input").is_dir()
# The two paths to set: the data folder and the run folder (this notebook's own folder).
DATA = Path("/kaggle/input/{data_name}") if ON_KAGGLE else Path({data!r})
RUN = Path("/kaggle/working/run") if ON_KAGGLE else Path(".")
RETRAIN = ON_KAGGLE or not (RUN / "run.json").is_file()  # True: redo the whole job into RUN
if RETRAIN:
    run, score = vv.run(DATA, RUN, budget_s={budget_s})  # {budget} minutes
else:
    run = vv.Run.load(RUN)
run"""
SECTION_CODE = {
    "Classification": (
        "evaluation = run.folder.read_evaluation()  # measured by the run on {split}\n"
        "evaluation.classification['summary']"
    ),
    "Segmentation": "run.show_results(4)  # image, truth, prediction on the validation part",
    "Adversarial attacks": (
        "results = run.folder.read_attacks()  # run.attack('val', ...) measures them again\n"
        "results.table[['model', 'name', 'clean', 'adversarial', 'success', 'psnr', 'ssim']]"
    ),
    "The Kaggle submission": """from vocvision.submission import rle_encode, stacked_class_masks

predictions = run.predictions("test")  # saved by the predict step
first = predictions.ids[0]
if predictions.masks:
    mask = predictions.label_masks()[0]  # a class index per pixel, 0 = background
    classes = len(predictions.classes)
    print(f"{first}_classification:", rle_encode(predictions.labels[0]))
    print(f"{first}_segmentation:", rle_encode(stacked_class_masks(mask, classes))[:80], "...")
    submission = run.submit()  # every test image, two rows each; validated, then written
    print(submission.path)
    print(submission.score() if submission.truth else "test answers hidden: upload to Kaggle")
else:
    print("no segmenter in this run: no submission.csv")""",
}


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
    def __init__(self, with_code: set[str], split: str) -> None:
        self.cells: list = []
        self.figures = 0
        self.text: list[str] = []
        self.with_code, self.split = with_code, split  # the sections that get a code cell

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
        code = SECTION_CODE.get(section.title)
        if code and section.title in self.with_code:
            self.flush()
            self.cells.append(v4.new_code_cell(code.replace("{split}", self.split)))
        for i, sub in enumerate(section.subsections, start=1):
            self.section(sub, f"{number}.{i}", level + 1)


def build_notebook(folder: RunFolder, document: Document | None = None):
    """The notebook of the run in `folder` (an nbformat v4 `NotebookNode`)."""
    document = document or build_document(folder)
    info, job = folder.read_info(), folder.read_job()
    evaluation = folder.read_evaluation()
    budget_s = job.budget_s if job else 45 * 60
    with_code = {"The Kaggle submission"}
    with_code |= {"Classification"} if evaluation.classification else set()
    with_code |= {"Segmentation"} if evaluation.segmentation else set()
    with_code |= {"Adversarial attacks"} if folder.read_attacks() else set()
    writer = _Writer(with_code, evaluation.split)
    writer.cells.append(
        v4.new_markdown_cell(
            f"# {document.title}\n\nWritten by vocvision from its run folder. Every number "
            "and figure below was measured by the run; the code cells load the run and redo "
            "the cheap steps with the Python API (`RETRAIN = True` trains everything again)."
        )
    )
    data = os.path.relpath(info.data_dir.resolve(), folder.root.resolve())
    setup = SETUP.format(
        data=data,
        data_name=info.data_dir.name,
        budget=round(budget_s / 60),
        budget_s=budget_s,
    )
    writer.cells.append(v4.new_code_cell(setup))
    for i, section in enumerate(document.sections, start=1):
        writer.section(section, str(i))
        writer.flush()
    notebook = v4.new_notebook(cells=writer.cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def execute_notebook(notebook, folder: RunFolder, seconds: float) -> str | None:
    """Run every cell of `notebook` in a fresh kernel in the run folder (in place), each
    cell within `seconds`; returns None, or why it could not run (then the cells keep the
    outputs they were written with)."""
    client = NotebookClient(
        notebook,
        timeout=max(1, int(seconds)),
        kernel_name="python3",
        resources={"metadata": {"path": str(folder.root)}},
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as error:
        first = str(error).strip().splitlines()
        return first[0] if first else type(error).__name__
    return None


def write_notebook(folder: RunFolder, execute_s: float | None = None) -> Path:
    """Write RUN/report.ipynb (atomically); with `execute_s`, executed first (each cell
    within that many seconds; on failure the notebook is written unexecuted and the reason
    logged); without, each code cell whose source is unchanged keeps the outputs the
    notebook already there has (from its last run). Returns its path."""
    path = folder.layout.notebook
    notebook = build_notebook(folder)
    if execute_s:
        executed = copy.deepcopy(notebook)
        why = execute_notebook(executed, folder, execute_s)
        if why is None:
            notebook = executed
        else:
            log.warning("report.ipynb written without running it: %s", why)
    elif path.is_file():
        _keep_outputs(notebook, path)
    write_text(path, nbformat.writes(notebook))
    return path


def notebook_ran(path: Path) -> bool:
    """Whether every code cell of the notebook at `path` was executed."""
    cells = nbformat.read(path, as_version=4).cells
    return all(c.get("execution_count") for c in cells if c.cell_type == "code")


def _keep_outputs(notebook, path: Path) -> None:
    """Give `notebook`'s code cells the outputs of the cells with the same source in the
    notebook at `path` (an unreadable one is ignored: it is about to be replaced)."""
    try:
        old = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return
    ran = {c.source: c for c in old.cells if c.cell_type == "code" and c.get("execution_count")}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source in ran:
            cell.outputs = ran[cell.source].outputs
            cell.execution_count = ran[cell.source].execution_count

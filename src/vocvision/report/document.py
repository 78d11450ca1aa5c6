"""The report as data: sections of paragraphs, lists, tables and figures, rendered to HTML
(`html`) and to a notebook's markdown and outputs from the same content."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Paragraph:
    """A paragraph of text."""

    text: str
    note: bool = False  # a side remark (smaller, grey)


@dataclass
class Bullets:
    """A bulleted list."""

    items: list[str]


@dataclass
class Improvement:
    """A marked improvement over a baseline ("Improvement: pretrained encoder, +0.21 mIoU
    over the scratch U-Net"), as the assignment asks."""

    text: str


@dataclass
class Table:
    """A table of formatted cells, with a caption."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class FigureRef:
    """A figure file and its caption; the renderer numbers the figures in order."""

    path: Path
    caption: str


Block = Paragraph | Bullets | Improvement | Table | FigureRef


@dataclass
class Section:
    """A numbered section: blocks, then subsections."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks += [b for b in blocks if b is not None]
        return self

    def sub(self, title: str) -> Section:
        section = Section(title)
        self.subsections.append(section)
        return section


@dataclass
class Document:
    """The whole report: a title and its sections."""

    title: str
    sections: list[Section]

    def figures(self) -> list[FigureRef]:
        """Every figure in reading order (the order they are numbered in)."""
        found = []

        def walk(section: Section) -> None:
            found.extend(b for b in section.blocks if isinstance(b, FigureRef))
            for sub in section.subsections:
                walk(sub)

        for section in self.sections:
            walk(section)
        return found


def number(value, digits: int = 4) -> str:
    """A table cell for a number: fixed digits, '-' for None or NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def scores_table(values: dict, intervals: dict | None, caption: str = "", digits: int = 4) -> Table:
    """Named scores with their 95 % bootstrap interval over images ('-' where none was
    measured)."""
    intervals = intervals or {}
    rows = []
    for name, value in values.items():
        low_high = intervals.get(name)
        span = "-" if not low_high else f"{number(low_high[0], 3)} to {number(low_high[1], 3)}"
        rows.append([name, number(value, digits), span])
    return Table(["", "value", "95 % interval"], rows, caption)


def figure(folder: Path, captions: dict[str, str], name: str) -> FigureRef | None:
    """The figure `name` of a folder whose captions were saved with it, if it was made."""
    file_name = f"{name}.png"
    path = folder / file_name
    if file_name not in captions or not path.is_file():
        return None
    return FigureRef(path, captions[file_name])


def figures_matching(folder: Path, captions: dict[str, str], names: Sequence[str]) -> list:
    return [f for f in (figure(folder, captions, n) for n in names) if f is not None]

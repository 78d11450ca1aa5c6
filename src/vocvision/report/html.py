"""The HTML report: the document rendered as one self-contained page (figures inlined), with
a table of contents and numbered, captioned figures and tables."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from ..fileio import write_text
from ..runfolder import RunFolder
from .build import build_document
from .document import Bullets, Document, FigureRef, Improvement, Paragraph, Section, Table

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;
line-height:1.45}h1{border-bottom:2px solid #4a7ab5}h2{margin-top:1.8em;color:#2d4f7c}
h3{color:#2d4f7c}table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 9px;text-align:left}th{background:#f3f6fa}
td.n{text-align:right}caption{caption-side:bottom;color:#555;
font-size:.9em;text-align:left;padding-top:.3em}figure{margin:1.2em 0}img{max-width:100%}
figcaption{color:#444;font-size:.92em}.note{color:#555;font-size:.9em}
.improvement{border-left:4px solid #3a9a4a;background:#eef8ef;padding:.4em .8em}
nav>ol{columns:2}nav>ol>li{break-inside:avoid}"""


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


class _Renderer:
    def __init__(self) -> None:
        self.figures = self.tables = 0

    def block(self, block) -> str:
        if isinstance(block, Paragraph):
            return f"<p{' class=note' if block.note else ''}>{html.escape(block.text)}</p>"
        if isinstance(block, Bullets):
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items)
            return f"<ul>{items}</ul>"
        if isinstance(block, Improvement):
            return f'<p class="improvement"><b>Improvement:</b> {html.escape(block.text)}</p>'
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, FigureRef):
            self.figures += 1
            caption = f"Figure {self.figures}: {block.caption}"
            return (
                f'<figure id="figure-{self.figures}">{_image(block.path, caption)}'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        raise TypeError(f"unknown block {type(block).__name__}")

    def table(self, table: Table) -> str:
        self.tables += 1
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
        caption = f"Table {self.tables}: {table.caption}" if table.caption else ""
        return (
            f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    def section(self, section: Section, number: str, level: int = 2) -> str:
        title = f"{number} {section.title}"
        parts = [f'<h{level} id="{_anchor(title)}">{html.escape(title)}</h{level}>']
        parts += [self.block(b) for b in section.blocks]
        for i, sub in enumerate(section.subsections, start=1):
            parts.append(self.section(sub, f"{number}.{i}", level + 1))
        return "".join(parts)


def _cell(value) -> str:
    """A table cell; numbers are right-aligned."""
    text = str(value)
    numeric = text.replace(".", "", 1).replace("-", "", 1).replace("+", "", 1).isdigit()
    return f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"


def _contents(document: Document) -> str:
    items = []
    for i, section in enumerate(document.sections, start=1):
        title = f"{i} {section.title}"
        subs = "".join(
            f'<li><a href="#{_anchor(f"{i}.{j} {sub.title}")}">{html.escape(sub.title)}</a></li>'
            for j, sub in enumerate(section.subsections, start=1)
        )
        items.append(
            f'<li><a href="#{_anchor(title)}">{html.escape(section.title)}</a>'
            + (f"<ol>{subs}</ol>" if subs else "")
            + "</li>"
        )
    return f"<nav><h2>Contents</h2><ol>{''.join(items)}</ol></nav>"


def render_html(document: Document) -> str:
    """The whole page for `document`."""
    renderer = _Renderer()
    body = "".join(
        renderer.section(section, str(i)) for i, section in enumerate(document.sections, 1)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(document.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(document.title)}</h1>{_contents(document)}{body}</body></html>\n"
    )


def write_report(folder: RunFolder) -> Path:
    """Write `RUN/report.html` (atomically) from what the run folder holds."""
    path = folder.layout.report
    write_text(path, render_html(build_document(folder)))
    return path

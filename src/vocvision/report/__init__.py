"""The report a person reads: five sections built from the run folder (`build`), rendered as
a self-contained HTML page (`html`)."""

from .build import build_document
from .html import render_html, write_report

__all__ = ["build_document", "render_html", "write_report"]

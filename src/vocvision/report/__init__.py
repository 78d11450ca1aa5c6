"""The report a person reads: five sections built from the run folder (`build`), rendered as
a self-contained HTML page (`html`) and as the hand-in notebook (`notebook`)."""

from .build import build_document
from .html import render_html, write_report
from .notebook import build_notebook, write_notebook

__all__ = ["build_document", "build_notebook", "render_html", "write_notebook", "write_report"]

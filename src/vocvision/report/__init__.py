"""The HTML report a person reads."""

from .html import write_report

__all__ = ["write_report"]

"""Every name of the code that README and docs quote resolves: a dotted name (`vocvision.x.y`
or `x.y` where x is one of vocvision's modules) imports or is an attribute, and a path under
one of its packages (`workflow/train_run.py`) exists. Docs that name code that is gone send a
newcomer looking for it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import vocvision

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(vocvision.__file__).parent
MODULES = {m.name for m in pkgutil.iter_modules([str(PACKAGE)])}
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
QUOTED = re.compile(r"`([^`\s]+)`")
FILE_TYPES = {".csv", ".json", ".html", ".ipynb", ".npz", ".png", ".md", ".txt", ".ckpt"}


def _quoted_names() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for text in QUOTED.findall(doc.read_text()):
            name = text.split("(")[0].rstrip(".,:")
            first = re.split(r"[./]", name.removeprefix("vocvision."))[0]
            if (name.startswith("vocvision.") or first in MODULES) and ("." in name or "/" in name):
                found.append((doc.name, name))
    return sorted(set(found))


def _resolves(name: str) -> bool:
    suffix = Path(name).suffix
    if "/" in name or suffix == ".py":  # a path inside the package
        return (PACKAGE / name.removeprefix("vocvision/")).exists()
    if suffix in FILE_TYPES:  # a file of a run folder, not code
        return True
    parts = name.removeprefix("vocvision.").split(".")
    for split in range(len(parts), -1, -1):
        try:
            target = importlib.import_module(".".join(["vocvision", *parts[:split]]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_docs_quote_names_that_exist():
    names = _quoted_names()
    assert len(names) > 20  # the docs do quote the code
    missing = [f"{doc}: {name}" for doc, name in names if not _resolves(name)]
    assert not missing, missing


@pytest.mark.parametrize("name", ["workflow.train_run.train_run", "training/fit.py"])
def test_the_check_resolves_a_real_name_and_not_a_made_up_one(name):
    assert _resolves(name)
    assert not _resolves(name.replace("train", "trian"))

"""The report document of a run folder (for the HTML page and the notebook)."""

from __future__ import annotations

from ..errors import RunFolderError
from ..runfolder import RunFolder
from .attack_section import attack_section
from .discussion import discussion_section
from .document import Document
from .model_sections import classification_section, segmentation_section
from .overview_section import overview_section


def build_document(folder: RunFolder) -> Document:
    """The five sections from what the run's steps wrote (the evaluation first of all)."""
    info = folder.read_info()
    evaluation = folder.read_evaluation()
    if evaluation is None:
        raise RunFolderError(f"{folder.layout.evaluation}: the run is not evaluated yet")
    return Document(
        f"vocvision report: {folder.root.name}",
        [
            overview_section(folder, info, evaluation),
            classification_section(folder, evaluation),
            segmentation_section(folder, info, evaluation),
            attack_section(folder, info),
            discussion_section(evaluation, folder.read_attacks()),
        ],
    )

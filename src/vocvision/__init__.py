"""vocvision: from a small labelled image set to trained models, a Kaggle submission,
adversarial attacks and a report.

    import vocvision as vv
    run = vv.train("data/", "runs/r1")            # or vv.Run.load("runs/r1")
    preds = run.predict(split="test")
    run.submit().score()
"""

from importlib.metadata import PackageNotFoundError, version

from .api import Run, study, train
from .config import ClassifierConfig, RunConfig, SegmenterConfig
from .job import run
from .launcher import quiet

try:  # one version, pyproject.toml's
    __version__ = version("vocvision")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
__all__ = [
    "ClassifierConfig",
    "Run",
    "RunConfig",
    "SegmenterConfig",
    "__version__",
    "quiet",
    "run",
    "study",
    "train",
]

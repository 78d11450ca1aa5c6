"""vocvision: from a small labelled image set to trained models, a Kaggle submission,
adversarial attacks and a report.

    import vocvision as vv
    run = vv.train("data/", "runs/r1")            # or vv.Run.load("runs/r1")
    preds = run.predict(split="test")
    run.submit().score()
"""

from .api import Run, run, study, train
from .config import ClassifierConfig, RunConfig, SegmenterConfig
from .launcher import quiet

__version__ = "0.2.0"
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

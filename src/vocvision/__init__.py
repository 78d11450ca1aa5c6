"""vocvision: from a small labelled image set to trained models, a Kaggle submission and a report.

The pipeline, in the order a user meets it::

    from vocvision import pipeline, RunConfig
    result = pipeline.run("data/", "runs/first", RunConfig())
    print(result.score)
"""

from . import pipeline
from .config import ClassifierConfig, RunConfig, SegmenterConfig

__version__ = "0.1.0"
__all__ = ["ClassifierConfig", "RunConfig", "SegmenterConfig", "__version__", "pipeline"]

"""The tiny run configuration the tests train with: 64 px, a few epochs, CPU, one device."""

from __future__ import annotations

from vocvision import RunConfig


def tiny_config(epochs: int = 1, method: str = "probe") -> RunConfig:
    """Both models at 64 px for `epochs`, batches of 8, the classifier by `method` with 3
    folds, a quarter of the training images held out, on one CPU."""
    config = RunConfig(val_fraction=0.25, accelerator="cpu", devices="1")
    for task in (config.classifier, config.segmenter):
        task.image_size, task.epochs, task.batch_size = 64, epochs, 8
    config.classifier.method, config.classifier.folds = method, 3
    return config

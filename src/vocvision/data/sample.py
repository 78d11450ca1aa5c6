"""The one in-memory sample type every reader produces and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IGNORE_INDEX = 255
"""Mask value for pixels that count in no loss and no metric (VOC object borders, CamVid void)."""


def is_binary(num_classes: int, background: bool) -> bool:
    """Background and one class (horse, buildings): the label set a segmenter learns with one
    logit and a sigmoid, and that gets the binary `SEGMENTER_DEFAULTS`."""
    return background and num_classes == 1


@dataclass
class Sample:
    """One image with its annotations.

    `mask` holds 0 for background, k for the k-th class (1-based, as in the Kaggle layout) and
    IGNORE_INDEX for unlabelled pixels. `labels` is the multi-hot vector over the K classes.
    """

    id: str
    image: np.ndarray  # H x W x 3 uint8 RGB
    mask: np.ndarray | None = None  # H x W uint8
    labels: np.ndarray | None = None  # K uint8 in {0, 1}


@dataclass
class ImageSet:
    """A split of a dataset: its class names (background excluded) and its samples.

    `has_background` records whether the source had a background class; CamVid-like sets
    without one still use 0 internally, it simply never occurs in their masks.
    """

    classes: list[str]
    samples: list[Sample] = field(default_factory=list)
    has_background: bool = True

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def binary(self) -> bool:
        """Background and one class: the segmenter's one-logit mode (see `is_binary`)."""
        return is_binary(self.num_classes, self.has_background)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.samples]

    def label_matrix(self) -> np.ndarray:
        """N x K multi-hot matrix of all samples' labels."""
        return np.stack([s.labels for s in self.samples]).astype(np.uint8)

    def subset(self, indices) -> ImageSet:
        return ImageSet(self.classes, [self.samples[i] for i in indices], self.has_background)

    def __len__(self) -> int:
        return len(self.samples)


def labels_from_mask(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-hot vector of the classes present in `mask` (background and ignore excluded)."""
    present = np.unique(mask)
    present = present[(present >= 1) & (present <= num_classes)]
    labels = np.zeros(num_classes, dtype=np.uint8)
    labels[present - 1] = 1
    return labels

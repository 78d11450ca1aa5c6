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


@dataclass(frozen=True)
class MaskCoding:
    """How a dataset's own mask values map to vocvision's labels (0 = background, 1..K =
    the classes in order, IGNORE_INDEX = ignore), so that masks handed back to the user are
    in the dataset's numbering. `values[k]` is the dataset's value of label k (`values[0]`
    is None for a set without background); `ignore` the dataset's ignore value, if any."""

    values: tuple[int | None, ...]
    ignore: int | None = IGNORE_INDEX

    @classmethod
    def identity(cls, num_classes: int) -> MaskCoding:
        """The Kaggle layout's coding: 0 = background, k = class k, 255 = ignore."""
        return cls(tuple(range(num_classes + 1)))

    def to_dataset(self, mask: np.ndarray) -> np.ndarray:
        """A mask in vocvision's labels, in the dataset's values (uint8 while they fit)."""
        lut = np.zeros(256, dtype=np.int64)
        lut[: len(self.values)] = [0 if v is None else v for v in self.values]
        lut[IGNORE_INDEX] = IGNORE_INDEX if self.ignore is None else self.ignore
        out = lut[mask]
        return out.astype(np.uint8) if out.max(initial=0) < 256 else out.astype(np.uint16)

    def to_labels(self, mask: np.ndarray) -> np.ndarray:
        """A mask in the dataset's values, in vocvision's labels (uint8)."""
        size = max(256, int(mask.max(initial=0)) + 1)
        lut = np.full(size, IGNORE_INDEX, dtype=np.uint8)
        for label, value in enumerate(self.values):
            if value is not None:
                lut[value] = label
        if self.ignore is not None:
            lut[self.ignore] = IGNORE_INDEX
        return lut[mask]

    def to_dict(self) -> dict:
        return {"values": list(self.values), "ignore": self.ignore}

    @classmethod
    def from_dict(cls, data: dict) -> MaskCoding:
        return cls(tuple(data["values"]), data.get("ignore"))


@dataclass
class ImageSet:
    """A split of a dataset: its class names (background excluded) and its samples.

    `has_background` records whether the source had a background class; CamVid-like sets
    without one still use 0 internally, it simply never occurs in their masks. `coding`
    maps labels back to the dataset's own mask values (default: the Kaggle layout's).
    """

    classes: list[str]
    samples: list[Sample] = field(default_factory=list)
    has_background: bool = True
    coding: MaskCoding | None = None

    def __post_init__(self) -> None:
        if self.coding is None:
            values = tuple(range(self.num_classes + 1))
            if not self.has_background:
                values = (None, *range(self.num_classes))
            self.coding = MaskCoding(values)

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
        samples = [self.samples[i] for i in indices]
        return ImageSet(self.classes, samples, self.has_background, self.coding)

    def __len__(self) -> int:
        return len(self.samples)


def labels_from_mask(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-hot vector of the classes present in `mask` (background and ignore excluded)."""
    present = np.unique(mask)
    present = present[(present >= 1) & (present <= num_classes)]
    labels = np.zeros(num_classes, dtype=np.uint8)
    labels[present - 1] = 1
    return labels

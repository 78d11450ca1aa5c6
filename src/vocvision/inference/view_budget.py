"""The test-time views a time share affords: the configured ones, or the richest cheaper set
whose cost, timed on this machine, fits.

Each view has a price and a measured gain. On the MSRC-v2 dev runs of issue 36 (53 test
images, both cores, docs/benchmarks.md "Test-time views by gain per second") the dense CRF
added +0.002 to +0.039 Kaggle Dice for about 0.23 s an image, the mirror and the two extra
scales +0.003 on average (-0.001 to +0.005) for 2 x 2.6 forward passes where one view costs
about 0.06 s. So a short share drops first the extra scales (least gain per second), then
the mirror, and the CRF last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Views:
    """What a segmenter prediction averages and refines: the mirrored image (`flip`), the
    input `scales` (x the inference side), and a dense CRF on the result (`crf`)."""

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)
    crf: bool = False

    @classmethod
    def of(cls, segmenter) -> Views:
        """The views a segmenter section (`SegmenterConfig`, settled) asks for."""
        return cls(bool(segmenter.tta_flip), tuple(segmenter.tta_scales), bool(segmenter.crf))

    @property
    def forward_passes(self) -> float:
        """The model's work per image, in passes at scale 1 (a pass costs the square of its
        scale)."""
        return (2 if self.flip else 1) * sum(s * s for s in self.scales)

    def seconds(self, forward_s: float, crf_s: float) -> float:
        """Seconds per image when one pass at scale 1 takes `forward_s` and the CRF `crf_s`."""
        return self.forward_passes * forward_s + (crf_s if self.crf else 0.0)

    def describe(self) -> str:
        """In words, as the report names a view: "one view", "flip + scales + CRF", ..."""
        named = (("flip", self.flip), ("scales", self.scales != (1.0,)))
        parts = [name for name, on in named if on]
        words = " + ".join(parts) or "one view"
        return f"{words} + CRF" if self.crf else words


def cheaper_views(views: Views) -> list[Views]:
    """`views`, then each cheaper set in the order of least gain per second dropped first:
    the extra scales, the mirror, the CRF (see the module's note)."""
    ladder = [views]
    for step in ({"scales": (1.0,)}, {"flip": False}, {"crf": False}):
        cheaper = replace(ladder[-1], **step)
        if cheaper != ladder[-1]:
            ladder.append(cheaper)
    return ladder


def affordable_views(
    views: Views, images: int, seconds: float, forward_s: float, crf_s: float
) -> Views:
    """The first of `cheaper_views(views)` that predicts `images` images in `seconds` (one
    view at least, whatever it costs), one pass at scale 1 taking `forward_s` an image and
    the CRF `crf_s`."""
    ladder = cheaper_views(views)
    for candidate in ladder:
        if candidate.seconds(forward_s, crf_s) * images <= seconds:
            return candidate
    return ladder[-1]

"""COCO instance annotations (polygons and crowd RLE) as semantic masks, via pycocotools.

Two folder layouts are read as splits:

    <root>/<split>/annotation.json + <root>/<split>/images/      (crowdAI Mapping Challenge)
    <root>/annotations/instances_<split>.json + <root>/<split>/  (COCO)

Categories become classes 1..K in category-id order (0 = background); `categories` keeps a
subset (the other objects become background) and `binary` one category against the rest.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .sample import ImageSet, Sample, labels_from_mask
from .validation import DataError, PixelNotes, read_image_file

log = logging.getLogger(__name__)


def coco_split_files(root: str | Path, split: str) -> tuple[Path, Path] | None:
    """(annotation file, image folder) of `split` in either COCO layout, or None."""
    root = Path(root)
    for annotation, images in (
        (root / split / "annotation.json", root / split / "images"),
        (root / "annotations" / f"instances_{split}.json", root / split),
    ):
        if annotation.is_file() and images.is_dir():
            return annotation, images
    return None


def is_coco_layout(root: str | Path) -> bool:
    root = Path(root)
    return any(root.glob("*/annotation.json")) or any(root.glob("annotations/instances_*.json"))


def read_coco_split(root: str | Path, split: str, **options) -> ImageSet:
    """Read split `split` of a COCO-layout folder (see the module doc); `options` go to
    `read_coco`."""
    files = coco_split_files(root, split)
    if files is None:
        raise DataError(
            f"{root}: no COCO split '{split}' ({split}/annotation.json + {split}/images/, or "
            f"annotations/instances_{split}.json + {split}/)"
        )
    return read_coco(*files, **options)


def read_coco(
    annotation_file: str | Path,
    image_dir: str | Path,
    categories: Sequence[str] | None = None,
    binary: str | None = None,
) -> ImageSet:
    """Images of a COCO annotation file with semantic masks drawn from their instances.

    Larger instances are drawn first, so a small object on top of a large one keeps its
    class where they overlap; crowd regions (RLE) are drawn like polygons. Images without
    annotations get an all-background mask.
    """
    annotation_file, image_dir = Path(annotation_file), Path(image_dir)
    coco = _load(annotation_file)
    by_name = {c["name"]: c["id"] for c in coco.loadCats(sorted(coco.getCatIds()))}
    wanted = [binary] if binary is not None else list(categories or by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise DataError(f"{annotation_file}: unknown categories {unknown} (has {list(by_name)})")
    wanted.sort(key=by_name.get)
    class_of = {by_name[name]: k for k, name in enumerate(wanted, start=1)}
    with PixelNotes(image_dir):
        samples = []
        for image_id in sorted(coco.getImgIds()):
            info = coco.loadImgs(image_id)[0]
            path = image_dir / info["file_name"]
            image = read_image_file(path)
            if image.shape[:2] != (info["height"], info["width"]):
                raise DataError(
                    f"{path}: image is {image.shape[1]}x{image.shape[0]} but "
                    f"{annotation_file.name} says {info['width']}x{info['height']}"
                )
            mask = np.zeros(image.shape[:2], dtype=np.uint8)
            annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=None))
            for ann in sorted(annotations, key=lambda a: -(a.get("area") or 0)):
                if ann.get("category_id") in class_of:
                    drawn = _drawn(coco, ann, info, annotation_file)
                    if drawn is not None:
                        mask[drawn] = class_of[ann["category_id"]]
            labels = labels_from_mask(mask, len(wanted))
            samples.append(Sample(Path(info["file_name"]).stem, image, mask, labels))
    return ImageSet(wanted, samples, has_background=True)


def _load(annotation_file: Path):
    """pycocotools' COCO index of a file, with a DataError naming the file when it is not
    COCO JSON (pycocotools itself only asserts)."""
    from pycocotools.coco import COCO

    try:
        spec = json.loads(annotation_file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{annotation_file}: unreadable COCO annotation file ({err})") from err
    if not isinstance(spec, dict):
        raise DataError(f"{annotation_file}: not a COCO annotation file (not a JSON object)")
    missing = [key for key in ("images", "annotations", "categories") if key not in spec]
    if missing:
        raise DataError(f"{annotation_file}: not a COCO annotation file (missing {missing})")
    for key, needed in (
        ("images", ("id", "file_name", "height", "width")),
        ("categories", ("id", "name")),
    ):
        entries = spec[key] if isinstance(spec[key], list) else [None]
        bad = next(
            (e for e in entries if not isinstance(e, dict) or any(n not in e for n in needed)), 0
        )
        if bad != 0:
            raise DataError(
                f"{annotation_file}: an entry of '{key}' lacks {list(needed)}: {str(bad)[:80]}"
            )
    kept = [
        a
        for a in spec["annotations"]
        if isinstance(a, dict) and "image_id" in a and "category_id" in a
    ]
    if len(kept) < len(spec["annotations"]):
        log.warning(
            "%s: %d annotations without image_id/category_id skipped",
            annotation_file,
            len(spec["annotations"]) - len(kept),
        )
    spec = {**spec, "annotations": [{"id": i, **a} for i, a in enumerate(kept, start=1)]}
    coco = COCO()
    coco.dataset = spec
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco.createIndex()
    return coco


def _drawn(coco, ann: dict, info: dict, source: Path) -> np.ndarray | None:
    """The pixels of one annotation, or None (with a warning) when its segmentation is
    missing, empty or degenerate (a polygon needs 3 points; an RLE the image's size)."""
    segmentation = ann.get("segmentation")
    where = f"{source}: annotation {ann.get('id')} of image {info['id']}"
    if isinstance(segmentation, list):
        polygons = [
            p
            for p in segmentation
            if isinstance(p, list) and len(p) >= 6 and all(isinstance(v, int | float) for v in p)
        ]
        if not polygons:
            log.warning("%s: no polygon of 3 or more points; skipped", where)
            return None
        ann = {**ann, "segmentation": polygons}
    elif isinstance(segmentation, dict):
        if list(segmentation.get("size", [])) != [info["height"], info["width"]]:
            log.warning(
                "%s: RLE size %s is not the image's; skipped", where, segmentation.get("size")
            )
            return None
    else:
        log.warning("%s: no segmentation; skipped", where)
        return None
    try:
        return coco.annToMask(ann) > 0
    except (ValueError, TypeError, IndexError, KeyError) as err:
        log.warning("%s: unreadable segmentation (%s); skipped", where, err)
        return None

"""What the web app does, without the web: check an upload, analyse an image (labels with
probabilities, the mask, per-class areas), attack it (FGSM, PGD, targeted PGD) and measure the
attack. `server` puts these behind Gradio."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import figures
from ..attacks import FGSM, PGD
from ..attacks.measure import model_image, outputs, perturbation_stats
from ..data.validation import DataError, pil_to_rgb
from ..errors import VocvisionError

MAX_BYTES = 20 * 2**20
MAX_PIXELS = 40_000_000
ATTACKS = ("FGSM", "PGD-10", "targeted PGD-20")


class UploadError(VocvisionError, ValueError):
    """An upload that is not an image the app can take."""


def check_upload(path: str | Path | None) -> np.ndarray:
    """The uploaded file as H x W x 3 uint8, or an UploadError saying what is wrong."""
    if path is None:
        raise UploadError("no image: upload a JPEG or PNG, or pick a test image")
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UploadError(
            f"{path.name}: {size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB"
        )
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadError(
                    f"{path.name}: {image.width}x{image.height} pixels; the limit "
                    f"is {MAX_PIXELS // 10**6} million"
                )
            return pil_to_rgb(image, path.name)
    except DataError as err:
        raise UploadError(str(err)) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise UploadError(f"{path.name}: not an image the app can read ({err})") from None


@dataclass
class Analysis:
    """One image's predictions, as the app shows them."""

    probabilities: dict[str, float]  # class -> label score
    labels: list[str]
    overlay: np.ndarray | None  # the mask over the image
    areas: list[list]  # [class, % of the image] for the classes in the mask
    legend: str  # HTML swatches of those classes
    mask: np.ndarray | None  # the mask in the dataset's own values


def analyse(run, image: np.ndarray) -> Analysis:
    """Labels with probabilities, the mask and the per-class areas of `image`."""
    predictions = run.predict([image])
    scores = predictions.scores[0]
    probabilities = {c: float(p) for c, p in zip(run.classes, scores, strict=True)}
    overlay = areas = mask = None
    legend = ""
    if predictions.masks:
        labels = predictions.label_masks()[0]
        overlay, mask = figures.overlay(image, labels), predictions.masks[0]
        counts = np.bincount(labels.ravel(), minlength=len(run.classes) + 1)[1:]
        present = [k for k in np.argsort(-counts) if counts[k]]
        areas = [[run.classes[k], round(100 * counts[k] / labels.size, 2)] for k in present]
        legend = swatches([(run.classes[k], k + 1) for k in present])
    return Analysis(probabilities, predictions.label_names(0), overlay, areas or [], legend, mask)


def swatches(classes: list[tuple[str, int]]) -> str:
    """HTML: a coloured square and the name of each (class, label) pair."""
    items = []
    for name, label in classes:
        r, g, b = figures.PALETTE[label]
        items.append(
            f'<span style="display:inline-block;margin:2px 8px"><span style="display:'
            f"inline-block;width:12px;height:12px;background:rgb({r},{g},{b});"
            f'margin-right:4px"></span>{html.escape(name)}</span>'
        )
    return "".join(items)


@dataclass
class AttackView:
    """An attack on one image: what it changed and how visible it is."""

    perturbation: np.ndarray  # amplified to be seen
    adversarial: np.ndarray  # at the model's input size, 8-bit
    overlay: np.ndarray | None  # the segmenter's mask of the adversarial image
    before: list[str]
    after: list[str]
    psnr: float
    ssim: float


def attack_image(
    run, image: np.ndarray, model: str, method: str, eps_255: float, target: str | None = None
) -> AttackView:
    """Attack `model` ("classifier" or "segmenter") on `image` at its input size with
    `method` (one of ATTACKS) and budget `eps_255`/255; untargeted attacks move the outputs
    away from the model's own prediction, targeted PGD towards `target` (a class: the
    classifier's label set becomes that class alone, every pixel becomes it)."""
    if method not in ATTACKS:
        raise UploadError(f"unknown attack '{method}'; choose from {ATTACKS}")
    trained = run.models[model]
    task, net = trained.task, trained.model
    x = model_image(image, task.input_size)
    own = task.as_targets(task.decide(outputs(net, x)))
    objective, eps = task.objective(), eps_255 / 255
    if method == "FGSM":
        adversarial = FGSM(net, eps, objective=objective)(x, own)
    elif method == "PGD-10":
        adversarial = PGD(net, eps, steps=10, objective=objective)(x, own)
    else:
        k = run.classes.index(target) if target in run.classes else 0
        if task.dense:
            goal = torch.full_like(own, k + 1)  # every pixel: the target class
        else:
            goal = torch.zeros_like(own)
            goal[:, k] = 1  # the label set: the target class alone
        adversarial = PGD(net, eps, steps=20, targeted=True, objective=objective)(x, goal)
    return _view(run, task, net, x, adversarial)


def _view(run, task, net, x: torch.Tensor, adversarial: torch.Tensor) -> AttackView:
    stats = perturbation_stats(adversarial, x)
    picture = (adversarial[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    delta = (adversarial - x)[0].permute(1, 2, 0).numpy()
    before, after = (task.decide(outputs(net, t))[0] for t in (x, adversarial))
    if task.dense:
        overlay = figures.overlay(picture, after.astype(np.uint8))
        names = [_present(run.classes, m) for m in (before, after)]
    else:
        overlay = None
        names = [[run.classes[k] for k in np.flatnonzero(p)] for p in (before, after)]
    return AttackView(
        figures.amplified(delta), picture, overlay, *names, stats["psnr"], stats["ssim"]
    )


def _present(classes: list[str], mask: np.ndarray) -> list[str]:
    """The classes a label mask holds (background left out)."""
    return [classes[v - 1] for v in np.unique(mask) if 0 < v <= len(classes)]

"""The CPU fast path: cached frozen-backbone features, K-fold linear heads, seconds to train.

The backbone runs once per image and view (the whole image, its mirror, and a few random
crops); every head after that trains on the cached N x D features with full-batch L-BFGS.
Lightning is not used here: there is no loop worth a Trainer, and the whole fit takes seconds.

Files (see `layout.ModelLayout`): the ensemble of fold heads as a plain model file
(`model.safetensors` + `config.json`) and `oof.npz` (out-of-fold probabilities on the
training images and the folds, for cross-validated metrics and the report).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ..config import ClassifierConfig
from ..data.sample import ImageSet
from ..data.splits import stratified_folds
from ..fileio import atomic_path
from ..layout import ModelLayout
from ..models.probe import ProbeClassifier, standardised_linear
from ..tasks import ClassificationTask
from ..tasks.losses import classification_loss, positive_weights
from .fit import save_model

log = logging.getLogger(__name__)


def _view(image: np.ndarray, view: int, size: int, min_crop_scale: float) -> torch.Tensor:
    """View 0: the whole image; 1: mirrored; 2+: a random crop (torch RNG), maybe mirrored."""
    x = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    if view >= 2:
        top, left, h, w = v2.RandomResizedCrop.get_params(x, (min_crop_scale, 1.0), (3 / 4, 4 / 3))
        x = x[:, top : top + h, left : left + w]
    x = TF.resize(x, [size, size], antialias=True)
    if view == 1 or (view >= 2 and torch.rand(()) < 0.5):
        x = x.flip(-1)
    return x


@torch.inference_mode()
def extract_features(
    model: ProbeClassifier,
    images: Sequence[np.ndarray],
    size: int,
    views: int = 2,
    min_crop_scale: float = 0.35,
    seed: int = 0,
    batch_size: int = 32,
) -> torch.Tensor:
    """V x N x D pooled features of `views` views of each image (see `_view`), computed with
    bf16 autocast and channels_last; seeded, so the random crops are the same every run."""
    model.eval().to(memory_format=torch.channels_last)
    device = next(model.parameters()).device
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for view in range(views):
            chunks = []
            for start in range(0, len(images), batch_size):
                chunk = images[start : start + batch_size]
                batch = torch.stack([_view(img, view, size, min_crop_scale) for img in chunk])
                batch = batch.to(device, memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    chunks.append(model.features(batch).cpu())
            out.append(torch.cat(chunks))
    return torch.stack(out)


def fit_head(
    features: torch.Tensor,
    labels: torch.Tensor,
    loss: str = "bce",
    l2: float = 3e-4,
    max_iter: int = 100,
) -> dict[str, torch.Tensor]:
    """One logistic-regression head on V x N x D features (every view a training example):
    standardised features, full-batch L-BFGS on `loss` + l2 * |W|^2. Deterministic."""
    x = features.reshape(-1, features.shape[-1])
    y = labels.float().repeat(features.shape[0], 1)
    mean, std = x.mean(0), x.std(0) + 1e-6
    x = (x - mean) / std
    weight = torch.zeros(x.shape[1], y.shape[1], requires_grad=True)
    bias = torch.zeros(y.shape[1], requires_grad=True)
    criterion = classification_loss(loss, positive_weights(labels))
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = criterion(x @ weight + bias, y) + l2 * weight.pow(2).sum()
        value.backward()
        return value

    with torch.enable_grad():
        optimizer.step(closure)
    return {"mean": mean, "std": std, "weight": weight.detach(), "bias": bias.detach()}


def load_heads(model: ProbeClassifier, heads: Sequence[dict[str, torch.Tensor]]) -> None:
    """Put fitted heads into `model` (built with num_heads=len(heads))."""
    with torch.no_grad():
        for i, head in enumerate(heads):
            model.feature_mean[i] = head["mean"]
            model.feature_std[i] = head["std"]
            model.weight[i] = head["weight"]
            model.bias[i] = head["bias"]


def head_probabilities(head: dict[str, torch.Tensor], features: torch.Tensor) -> np.ndarray:
    """N x K probabilities of one fitted head on N x D features."""
    logits = standardised_linear(features, head["mean"], head["std"], head["weight"], head["bias"])
    return logits.sigmoid().numpy()


def cross_validate_heads(
    features: torch.Tensor,
    labels: np.ndarray,
    config: ClassifierConfig,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[list[dict[str, torch.Tensor]], np.ndarray, list[np.ndarray]]:
    """K-fold heads (multilabel-stratified folds, whole `groups` in one), the N x K
    out-of-fold probabilities (each image scored by the head that never saw it, on its
    whole-image view) and the folds."""
    folds = stratified_folds(labels, config.folds, seed, groups)
    target = torch.from_numpy(labels)
    heads, oof = [], np.zeros(labels.shape, dtype=np.float32)
    for held in folds:
        keep = np.setdiff1d(np.arange(len(labels)), held)
        head = fit_head(features[:, keep], target[keep], config.loss, config.probe_l2)
        heads.append(head)
        oof[held] = head_probabilities(head, features[0, held])
    return heads, oof, folds


def fit_probe(
    task: ClassificationTask,
    train: ImageSet,
    layout: ModelLayout,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> ModelLayout:
    """Fit the K-fold probe ensemble of `task` on `train` into `layout` (whole `groups` of
    images in one fold, when given: the labelling is chosen on these folds too)."""
    c = task.config
    started = time.perf_counter()
    torch.manual_seed(seed)  # a backbone without pretrained weights starts random
    model = task.build_model()
    images = [s.image for s in train.samples]
    features = extract_features(model, images, c.image_size, c.probe_views, c.min_crop_scale, seed)
    log.info(
        "probe: %s features of %d views in %.0f s",
        tuple(features.shape),
        len(features),
        time.perf_counter() - started,
    )
    labels = train.label_matrix()
    heads, oof, folds = cross_validate_heads(features, labels, c, seed, groups)
    if c.tta_flip and len(features) > 1:  # as predicted: the mean with the mirrored view
        for head, held in zip(heads, folds, strict=True):
            oof[held] = (oof[held] + head_probabilities(head, features[1, held])) / 2
    load_heads(model, heads)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for i, held in enumerate(folds):
        fold_of[held] = i
    with atomic_path(layout.oof) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.array(train.ids), probabilities=oof, labels=labels, fold=fold_of)
    save_model(task, model, layout)
    log.info("probe: %d heads fitted in %.0f s", len(heads), time.perf_counter() - started)
    return layout


def read_oof(path: str | Path) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities, labels and fold numbers saved by `fit_probe`."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}

"""Self-training: the trained segmenter labels the unlabelled test images with its confident
pixels, then is fine-tuned once on the training images plus those (`segmenter.self_train`).

Transductive: it uses the test images (never their masks), as a Kaggle entrant may. The
validation part stays labelled by people, so the fine-tune's best epoch is still chosen on
true masks.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Sequence

import lightning as L

from ..config import RunConfig
from ..data.sample import IGNORE_INDEX, ImageSet, Sample, labels_from_mask
from ..inference import predict_masks
from ..layout import ModelLayout
from ..models import Segmenter
from ..tasks import Task
from .checkpoints import trained_epochs
from .fit import fit_model

log = logging.getLogger(__name__)

# The fine-tune runs a quarter of the first training's epochs at half its learning rate: it
# starts from a trained model, so it needs no long warm-up, and a full schedule would
# double the training time.
EPOCH_SHARE, LR_SCALE = 0.25, 0.5
# Under a time budget the first training gets this share of it, the pseudo-labelling and the
# fine-tune what is left: they took 0.4 of a first training's time on CamVid and MSRC-v2
# (docs/benchmarks.md), so self-training spends the budget a plain training would.
FIRST_TRAINING_SHARE = 0.7


def pseudo_labelled(task: Task, model: Segmenter, images: ImageSet) -> ImageSet:
    """`images` with the masks `model` predicts (the config's test-time augmentation, no
    CRF); pixels below `pseudo_confidence` are ignored, labels are the classes left."""
    options = task.inference_options(tta=True, crf=False)
    pixels = [s.image for s in images.samples]
    masks = predict_masks(model, pixels, **options, min_confidence=task.config.pseudo_confidence)
    samples = [
        Sample(s.id, s.image, mask, labels_from_mask(mask, task.num_classes))
        for s, mask in zip(images.samples, masks, strict=True)
    ]
    return ImageSet(images.classes, samples, images.has_background, images.coding)


def self_train(
    task: Task,
    train: ImageSet,
    val: ImageSet,
    unlabelled: ImageSet,
    config: RunConfig,
    layout: ModelLayout,
    progress: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> None:
    """Fine-tune the segmenter saved in `layout` on `train` + `unlabelled` pseudo-labelled,
    and save the result in its place (the first training's checkpoints and log stay). The
    fine-tune starts from the saved (best) weights, not the last epoch's. An `EpochBudget`
    in `callbacks` caps the fine-tune's epochs (at least one) by the time it has left."""
    model = Segmenter.from_pretrained(layout.root)
    pseudo = pseudo_labelled(task, model, unlabelled)
    kept = sum(int((s.mask != IGNORE_INDEX).sum()) for s in pseudo.samples)
    total = sum(s.mask.size for s in pseudo.samples)
    log.info("self-training on %d test images, %.0f %% of their pixels confident enough",
             len(pseudo), 100 * kept / max(1, total))  # fmt: skip
    c = task.config
    epochs_trained = trained_epochs(layout.metrics_csv) or c.epochs
    tuned = dataclasses.replace(
        c, epochs=max(1, round(EPOCH_SHARE * epochs_trained)), lr=c.lr * LR_SCALE
    )
    task = type(task)(task.classes, tuned, task.has_background)
    combined = ImageSet(
        train.classes, [*train.samples, *pseudo.samples], train.has_background, train.coding
    )
    stage = ModelLayout(layout.root / "self_training")
    if stage.root.exists():
        shutil.rmtree(stage.root)
    fit_model(task, combined, val, config, stage, progress=progress, callbacks=callbacks,
              start_from=model)  # fmt: skip
    for path in (stage.weights, stage.config):
        shutil.move(path, layout.root / path.name)
    shutil.rmtree(stage.checkpoints)  # its log stays, beside the first training's

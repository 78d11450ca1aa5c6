"""Torch datasets and the Lightning data module over in-memory ImageSets."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import v2

from ..data.augmentation import eval_transform, to_tensors, train_transform
from ..data.sample import ImageSet
from ..model_config import TaskConfig, frozen_epoch_limit

# A frozen-encoder epoch's work relative to a full one (no encoder backward, no encoder
# step): MSRC-v2 segmenter, bf16 autocast + channels_last, one core: 7.5 vs 4.5 images/s.
FROZEN_EPOCH_COST = 0.6


@dataclass
class EpochSchedule:
    """What each training epoch costs: its crop's side, `small` for the first `small_share`
    of the `epochs`, then `size` (progressive resizing: the early epochs, which learn coarse
    shapes, cost half as much at 192 px as at 256), and whether the encoder is frozen (the
    first `frozen_epochs`, at most a quarter of the `epochs`). `EpochBudget` plans with
    `cost` and moves `epochs` when it plans fewer, so the switch to full-size crops stays at
    the same share of the epochs that run, and a short fit is not mostly frozen."""

    size: int
    small: int | None = None
    small_share: float = 0.0
    epochs: int = 1
    frozen_epochs: int = 0

    def side(self, epoch: int) -> int:
        small_epochs = round(self.small_share * self.epochs)
        return self.small if self.small and epoch < small_epochs else self.size

    def frozen(self, epoch: int) -> bool:
        return epoch < frozen_epoch_limit(self.frozen_epochs, self.epochs)

    def cost(self, epoch: int) -> float:
        """Epoch `epoch`'s training work relative to a full-size, unfrozen one."""
        frozen = FROZEN_EPOCH_COST if self.frozen(epoch) else 1.0
        return (self.side(epoch) / self.size) ** 2 * frozen


class ImageSetDataset(Dataset):
    """An ImageSet as a torch Dataset of transformed tensors (`to_tensors`).

    Items are `(epoch * len + index, side)`, as `EpochShuffle` yields them (a plain index is
    read as epoch 0 at `transforms`' first side). With `seed`, the item is augmented with a
    generator seeded from (seed, epoch, index) alone, so an epoch's augmentation does not
    depend on when its batches are fetched (Lightning prefetches one batch, earlier when it
    resumes) or on which process fetches them."""

    def __init__(
        self, images: ImageSet, transforms: dict[int, v2.Transform], seed: int | None = None
    ) -> None:
        self.images, self.transforms, self.seed = images, transforms, seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        item, side = item if isinstance(item, tuple) else (item, next(iter(self.transforms)))
        epoch, index = divmod(item, len(self.images))
        transform = self.transforms[side]
        if self.seed is None:
            return to_tensors(self.images.samples[index], transform)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + epoch * 10_007 + index)
            return to_tensors(self.images.samples[index], transform)


class EpochShuffle(Sampler[tuple[int, int]]):
    """A random order drawn from (seed, epoch) alone: Lightning sets the epoch before each
    epoch's iteration (`set_epoch`), so a resumed run shuffles the epochs it repeats exactly
    as an uninterrupted one did. Yields `(epoch * size + index, side)`: the dataset learns
    the epoch and the epoch's crop side (`crops`; the sampler runs in the main process, so
    a plan that moves the schedule reaches loader workers too)."""

    def __init__(self, size: int, crops: EpochSchedule, seed: int = 0) -> None:
        self.size, self.seed, self.epoch, self.crops = size, seed, 0, crops

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + 1000 * self.epoch)
        order = torch.randperm(self.size, generator=generator)
        side = self.crops.side(self.epoch)
        return iter((item, side) for item in (order + self.epoch * self.size).tolist())

    def __len__(self) -> int:
        return self.size


class ImageSetDataModule(L.LightningDataModule):
    """Train with augmentation (crops of `config`'s size, or its `progressive_size` first),
    validate on images resized to its `image_size`; both sets already in memory."""

    def __init__(
        self,
        train: ImageSet,
        val: ImageSet,
        config: TaskConfig,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train, self.val, self.config = train, val, config
        self.num_workers, self.seed = num_workers, seed
        self.schedule = EpochSchedule(
            config.image_size,
            config.progressive_size,
            config.progressive_share,
            config.epochs or 1,
            config.frozen_epochs,
        )

    def train_dataloader(self) -> DataLoader:
        c, crops = self.config, self.schedule
        sides = [crops.size, *([crops.small] if crops.small else [])]
        transforms = {
            side: train_transform(side, c.min_crop_scale, c.augment, c.max_crop_scale)
            for side in sides
        }
        dataset = ImageSetDataset(self.train, transforms, self.seed)
        return DataLoader(
            dataset,
            batch_size=c.batch_size,
            sampler=EpochShuffle(len(dataset), crops, self.seed),
            # its own generator: the loader draws a base seed from it when an epoch's
            # iteration starts, which must not move the global one (dropout's)
            generator=torch.Generator().manual_seed(self.seed),
            drop_last=len(dataset) > c.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        size = self.config.image_size
        dataset = ImageSetDataset(self.val, {size: eval_transform(size)})
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

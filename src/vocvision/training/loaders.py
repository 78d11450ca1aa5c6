"""Torch datasets and the Lightning data module over in-memory ImageSets."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import v2

from ..data.augmentation import eval_transform, to_tensors, train_transform
from ..data.sample import ImageSet


class ImageSetDataset(Dataset):
    """An ImageSet as a torch Dataset of transformed tensors (`to_tensors`).

    With `seed`, item `epoch * len + index` (what `EpochShuffle` yields) is augmented with a
    generator seeded from (seed, epoch, index) alone, so an epoch's augmentation does not
    depend on when its batches are fetched (Lightning prefetches one batch, earlier when it
    resumes) or on which process fetches them."""

    def __init__(self, images: ImageSet, transform: v2.Transform, seed: int | None = None):
        self.images, self.transform, self.seed = images, transform, seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: int) -> dict:
        epoch, index = divmod(item, len(self.images))
        if self.seed is None:
            return to_tensors(self.images.samples[index], self.transform)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + epoch * 10_007 + index)
            return to_tensors(self.images.samples[index], self.transform)


class EpochShuffle(Sampler[int]):
    """A random order drawn from (seed, epoch) alone: Lightning sets the epoch before each
    epoch's iteration (`set_epoch`), so a resumed run shuffles the epochs it repeats exactly
    as an uninterrupted one did. Yields `epoch * size + index`, so the dataset knows the
    epoch too (see `ImageSetDataset`)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + 1000 * self.epoch)
        order = torch.randperm(self.size, generator=generator)
        return iter((order + self.epoch * self.size).tolist())

    def __len__(self) -> int:
        return self.size


class ImageSetDataModule(L.LightningDataModule):
    """Train with augmentation, validate on resized images; both sets already in memory."""

    def __init__(
        self,
        train: ImageSet,
        val: ImageSet,
        image_size: int,
        batch_size: int,
        num_workers: int = 0,
        min_crop_scale: float = 0.35,
        augment: str = "basic",
        max_crop_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train, self.val, self.seed = train, val, seed
        self.image_size, self.batch_size, self.num_workers = image_size, batch_size, num_workers
        self.crop_scale, self.augment = (min_crop_scale, max_crop_scale), augment

    def train_dataloader(self) -> DataLoader:
        low, high = self.crop_scale
        transform = train_transform(self.image_size, low, self.augment, high)
        dataset = ImageSetDataset(self.train, transform, self.seed)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(len(dataset), self.seed),
            # its own generator: the loader draws a base seed from it when an epoch's
            # iteration starts, which must not move the global one (dropout's)
            generator=torch.Generator().manual_seed(self.seed),
            drop_last=len(dataset) > self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        dataset = ImageSetDataset(self.val, eval_transform(self.image_size))
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

"""Torch datasets and the Lightning data module over in-memory ImageSets."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ..data.sample import ImageSet
from ..data.transforms import eval_transform, to_tensors, train_transform


class ImageSetDataset(Dataset):
    """An ImageSet as a torch Dataset of transformed tensors (`to_tensors`)."""

    def __init__(self, images: ImageSet, transform: v2.Transform) -> None:
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return to_tensors(self.images.samples[index], self.transform)


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
    ) -> None:
        super().__init__()
        self.train, self.val = train, val
        self.image_size, self.batch_size, self.num_workers = image_size, batch_size, num_workers
        self.crop_scale, self.augment = (min_crop_scale, max_crop_scale), augment

    def train_dataloader(self) -> DataLoader:
        low, high = self.crop_scale
        transform = train_transform(self.image_size, low, self.augment, high)
        dataset = ImageSetDataset(self.train, transform)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
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

"""What a run shows in a notebook: example results, saved figures, mask files."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image

from .. import figures
from ..config import ConfigError
from ..errors import RunFolderError
from ..runfolder import Predictions
from ..workflow.masks import check_masks_folder, dataset_palette, write_mask_pngs


class RunViews:
    """The parts of `Run` that show or save what it predicts (a mixin: `Run` provides
    `folder`, `root`, `data_dir`, `classes`, `images` and `predict`)."""

    def show_results(self, count: int = 8, split: str = "val") -> Figure:
        """A figure of `count` images of `split`: image, truth (when known), prediction."""
        if count < 1:
            raise ConfigError(f"show_results needs a count >= 1, got {count}")
        images = self.images(split)
        chosen = images.subset(range(min(count, len(images))))
        predicted = self.predict(chosen)
        masks = predicted.label_masks()
        rows = []
        for i, sample in enumerate(chosen.samples):
            panels = [sample.image]
            if sample.mask is not None:
                panels.append(figures.overlay(sample.image, sample.mask))
            if masks:
                panels.append(figures.overlay(sample.image, masks[i]))
            rows.append((f"{sample.id}\n{', '.join(predicted.label_names(i)) or '-'}"[:60], panels))
        titles = ["image"] + (["truth"] if chosen.samples[0].mask is not None else [])
        return figures.image_grid(rows, titles + (["prediction"] if masks else []), self.classes)

    def save_masks(self, predictions: Predictions, folder: str | Path) -> list[Path]:
        """Write each predicted mask as `<id>.png` in `folder`, in the dataset's own values
        and palette."""
        self._check_masks_target(bool(predictions.masks), folder)
        return write_mask_pngs(predictions, Path(folder), dataset_palette(self.data_dir))

    def _check_masks_target(
        self, has_masks: bool, folder: str | Path, data: str | Path | None = None
    ) -> None:
        if not has_masks:
            raise RunFolderError(f"{self.root}: no masks to save (train the segmenter)")
        check_masks_folder(folder, [self.data_dir, *([Path(data)] if data else [])])

    def figure(self, name: str) -> Image.Image:
        """A figure the run saved (evaluation or attacks), e.g. "class_balance", as an image
        (a notebook shows it)."""
        for folder in (
            self.folder.layout.evaluation_dir / "figures",
            self.folder.layout.attacks_dir,
        ):
            path = folder / f"{name}.png"
            if path.is_file():
                with Image.open(path) as image:
                    return image.copy()
        raise RunFolderError(f"{self.root}: no figure '{name}' (evaluate or attack first)")

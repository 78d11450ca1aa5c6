"""The object a notebook holds: a trained run, its models loaded once, every step a method.

    import vocvision as vv
    run = vv.train("data/", "runs/r1")            # or vv.Run.load("runs/r1")
    preds = run.predict(split="test")              # or run.predict([array, PIL image, "x.jpg"])
    run.show_results(8)                            # matplotlib figure: image, truth, prediction
    run.submit().score()                           # Kaggle mean Dice, both halves
    run.attack(split="val", eps=4 / 255).table     # pandas DataFrame of the attack rows
    run.report()                                   # path of report.html

Every CLI command is a thin call of one of these.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image

from . import figures
from .config import ConfigError, RunConfig
from .data import ImageSet
from .errors import RunFolderError
from .evaluation import evaluate
from .inference.engines import ENGINES
from .job import DEFAULT_BUDGET_S, PARTS, run_job
from .job.budget import Reporter
from .layout import MODEL_NAMES
from .report import write_notebook, write_report
from .runfolder import AttackResults, Evaluation, Predictions, RunFolder, RunInfo
from .submission import Score
from .workflow.data import check_matches, images_from, read_run_split
from .workflow.export import export_run, load_onnx_models
from .workflow.masks import check_masks_folder, dataset_palette, write_mask_pngs
from .workflow.models import TrainedModels, load_models
from .workflow.predicting import predict_images
from .workflow.robustness import AttackSettings, attack_run
from .workflow.study import study
from .workflow.submitting import Submission, test_truth, write_submission_of
from .workflow.training import train_run

__all__ = ["Run", "run", "study", "train"]


class Run:
    """A trained run folder. Load one with `Run.load(path)` or make one with `train`.

    Attributes: `folder` (its `RunFolder`), `info` (run.json: data, splits, settled config).
    The models load on first use and stay loaded.
    """

    def __init__(self, folder: RunFolder, info: RunInfo) -> None:
        self.folder, self.info = folder, info
        self._models: dict[str, TrainedModels] = {}
        self._predictions: dict[str, Predictions] = {}

    @classmethod
    def load(cls, path: str | Path) -> Run:
        """The run saved in folder `path`."""
        folder = RunFolder(path)
        return cls(folder, folder.read_info())

    def __repr__(self) -> str:
        return f"Run({str(self.root)!r}, classes={len(self.classes)}, data={str(self.data_dir)!r})"

    @property
    def root(self) -> Path:
        return self.folder.root

    @property
    def config(self) -> RunConfig:
        return self.info.config

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def data_dir(self) -> Path:
        return self.info.data_dir

    @property
    def models(self) -> TrainedModels:
        """The trained models with their tasks, loaded from the safetensors files once."""
        return self.engine_models("torch")

    def engine_models(self, engine: str = "torch") -> TrainedModels:
        """The models for `engine`: "torch" (the safetensors files) or "onnxruntime" (the
        exported ONNX files, exported first if needed); each loaded once."""
        if engine not in ENGINES:
            raise RunFolderError(f"unknown engine '{engine}'; choose from {ENGINES}")
        if engine not in self._models:
            if engine == "torch":
                self._models[engine] = load_models(self.folder, self.info)
            else:
                export_dir = self.folder.layout.export_dir
                self._models[engine] = load_onnx_models(self.folder, self.info, export_dir)
        return self._models[engine]

    def export(self, out: str | Path | None = None) -> Path:
        """Export the models as ONNX with export.json (default RUN/export/); returns the
        folder."""
        out = Path(out) if out is not None else self.folder.layout.export_dir
        return export_run(self.folder, self.info, self.models, out)

    def images(self, split: str = "test", data: str | Path | None = None) -> ImageSet:
        """The images of `split`: "train"/"val" are the run's own parts of its training
        split, "test" the data's test split, other names that split of the data folder;
        `data` reads another folder with the run's classes."""
        return read_run_split(self.info, split, data)

    def predict(
        self,
        images=None,
        *,
        split: str | None = None,
        data: str | Path | None = None,
        tta: bool = True,
        compile_model: bool = False,
        engine: str = "torch",
        masks_dir: str | Path | None = None,
    ) -> Predictions:
        """Predict images (one, or a list of H x W x 3 arrays, 3 x H x W tensors, PIL images
        or file paths; a 4-D array or tensor is a batch), or a
        `split` (default "test", see `images`), which is also saved in the run
        (predictions/<split>.npz; other `data` get a file of their own). `engine` "onnxruntime"
        runs the exported models (same tiles, TTA and CRF). `masks_dir` also gets each mask
        as `<id>.png` (see `save_masks`; the folder is checked before predicting)."""
        models = self.engine_models(engine)
        if masks_dir is not None:
            self._check_masks_target(models.segmenter is not None, masks_dir, data)
        compile_model = compile_model and engine == "torch"
        if images is not None:
            if isinstance(images, ImageSet):
                check_matches(self.info, images, Path("the images given"))
            else:
                images = images_from(images, self.classes, self.info.has_background)
            predictions = predict_images(models, images, self.info, tta, compile_model)
        else:
            split = split or "test"
            chosen = self.images(split, data)
            predictions = predict_images(models, chosen, self.info, tta, compile_model)
            predictions.split = split
            self.folder.write_predictions(predictions, self.predictions_path(split, data))
            self._predictions[split] = predictions
        if masks_dir is not None:
            write_mask_pngs(predictions, Path(masks_dir), dataset_palette(self.data_dir))
        return predictions

    def predictions_path(self, split: str = "test", data: str | Path | None = None) -> Path:
        """Where `predict` saves the predictions of `split` of `data` (default the run's
        data: predictions/<split>.npz; other data get a file of their own)."""
        own = data is None or Path(data).resolve() == self.data_dir.resolve()
        return self.folder.predictions_path(split, None if own else Path(data))

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

    def predictions(self, split: str = "test") -> Predictions:
        """The saved predictions of `split` (predicted now if there are none)."""
        if split not in self._predictions:
            path = self.predictions_path(split)
            if path.is_file():
                self._predictions[split] = self.folder.read_predictions(path)
            else:
                self.predict(split=split)
        return self._predictions[split]

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

    def submit(
        self, split: str = "test", threshold: float | None = None, out: str | Path | None = None
    ) -> Submission:
        """Write submission.csv from the saved predictions of `split` (validated first) to
        `out` (default RUN/submission.csv; a folder gets submission.csv inside);
        `threshold` re-labels the saved label scores."""
        predictions = self.predictions(split)
        rule = None
        if threshold is not None:
            rule = self.models.classification.rule.with_threshold(threshold)
        path = Path(out) if out is not None else self.folder.layout.submission
        if path.is_dir():  # like cp: into the folder, under the usual name
            path = path / self.folder.layout.submission.name
        path = write_submission_of(predictions, path, rule)
        truth = test_truth(self.info, self.root) if split == "test" else None
        return Submission(path, truth)

    def attack(
        self, split: str = "val", eps: float = 4 / 255, data: str | Path | None = None, **settings
    ) -> AttackResults:
        """The attack suite (see `AttackSettings` for `settings`) on the labelled `split`;
        attacks that learn use the run's training part."""
        options = AttackSettings(eps=eps, **settings)
        train = self.images("train") if options.learns else None
        images = self.images(split, data)
        return attack_run(self.folder, self.models, images, split, options, train)

    def evaluate(self) -> Evaluation:
        """Measure what the report shows (see `vocvision.evaluation`)."""
        return evaluate(self.folder, self.info, self.models)

    def report(self) -> Path:
        """Evaluate the run and write report.html (and report.ipynb); returns its path."""
        self.evaluate()
        write_notebook(self.folder)
        return write_report(self.folder)

    def notebook(self) -> Path:
        """Write report.ipynb from what the run holds (evaluated first if it is not yet)."""
        if self.folder.read_evaluation() is None:
            self.evaluate()
        return write_notebook(self.folder)

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


def train(
    data: str | Path,
    out: str | Path,
    config: RunConfig | None = None,
    models: tuple[str, ...] = MODEL_NAMES,
    resume: bool = False,
    progress: bool = True,
) -> Run:
    """Train `models` on `data`'s training split into the run folder `out`."""
    info = train_run(data, out, config, models, resume, progress)
    return Run(RunFolder(out), info)


def run(
    data: str | Path,
    out: str | Path,
    config: RunConfig | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    only: tuple[str, ...] = PARTS,
    resume: bool = False,
    reporter: Reporter | None = None,
) -> tuple[Run, Score | None]:
    """The whole job in `budget_s` seconds (see `vocvision.job`): train both models and
    the from-scratch baselines, predict the test split, write and score submission.csv,
    attack, evaluate, write report.html and report.ipynb. `only` keeps some parts
    (classify, segment, baselines, attack). Returns the run and its score (None when the
    test answers are hidden)."""
    context = run_job(data, out, config, budget_s, only, resume, reporter)
    return Run.load(context.folder.root), context.score

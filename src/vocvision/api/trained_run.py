"""The object a notebook holds: a trained run, its models loaded once, every step a method.

    import vocvision as vv
    run = vv.train("data/", "runs/r1")            # or vv.Run.load("runs/r1")
    preds = run.predict(split="test")              # or run.predict([array, PIL image, "x.jpg"])
    run.show_results(8)                            # matplotlib figure: image, truth, prediction
    run.submit().score()                           # Kaggle mean Dice, both halves
    run.attack(split="val", eps=4 / 255).table     # pandas DataFrame of the attack rows
    run.report()                                   # path of report.html

Every CLI command, and every step of `vocvision run` after training, is one of these. The run
records what each produces in its folder (predictions by data and split, labelling.json,
submission.csv, score.json, attacks, evaluation), and the report is rendered from those.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L

from ..config import RunConfig
from ..data import ImageSet
from ..errors import RunFolderError
from ..evaluation import evaluate, score_intervals
from ..inference import LabellingRule
from ..inference.engines import ENGINES
from ..report import write_notebook, write_report
from ..runfolder import AttackResults, Evaluation, Predictions, RunFolder, RunInfo
from ..submission import Score
from ..workflow.baselines import train_baseline
from ..workflow.export import export_run, load_onnx_models
from ..workflow.kaggle_submission import (
    Submission,
    check_predictions,
    test_truth,
    write_submission_of,
)
from ..workflow.label_choice import choose_labelling
from ..workflow.masks import dataset_palette, write_mask_pngs
from ..workflow.robustness import AttackSettings, attack_run
from ..workflow.run_models import TrainedModels, load_models, with_rule
from ..workflow.run_predictions import predict_images
from ..workflow.run_splits import check_matches, images_from, read_run_split
from .views import RunViews


class Run(RunViews):
    """A trained run folder. Load one with `Run.load(path)` or make one with `vv.train`.

    Attributes: `folder` (its `RunFolder`), `info` (run.json: data, splits, settled config).
    The models load on first use and stay loaded.
    """

    def __init__(self, folder: RunFolder, info: RunInfo) -> None:
        self.folder, self.info = folder, info
        self._models: dict[str, TrainedModels] = {}
        self._predictions: dict[Path, Predictions] = {}  # by file: data and split
        self._baselines: dict[str, TrainedModels] = {}

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

    # the labelling rule: labelling.json, written only here --------------------------------
    @property
    def labelling(self) -> LabellingRule | None:
        """How image labels are made (None without a classifier)."""
        classification = self.models.classification
        return classification.rule if classification else None

    def choose_labelling(self) -> LabellingRule | None:
        """Choose the labelling rule on the run's validation part (see `choose_labelling`),
        save it and use it from now on; earlier predictions are dropped."""
        if self.models.classifier is None:
            return None
        val = read_run_split(self.info, "val")
        rule = choose_labelling(self.folder, self.info, self.models, val)
        self._use_rule(rule)
        self._predictions.clear()
        return rule

    def set_threshold(self, threshold: float | Sequence[float]) -> LabellingRule:
        """Label at `threshold` (one, or one per class) from now on: labelling.json is
        rewritten, and the run's saved predictions are labelled again with it."""
        LabellingRule().with_threshold(threshold)  # a bad threshold is refused before any work
        if self.labelling is None:
            raise RunFolderError(f"{self.root}: no classifier, so no threshold to set")
        rule = self.labelling.with_threshold(threshold)
        self.folder.write_labelling(rule)
        self._use_rule(rule)
        for path in self.folder.layout.predictions_dir.glob("*.npz"):
            predictions = self._predictions.get(path)
            if predictions is None:
                predictions = self.folder.read_predictions(path)
            predictions.labels = rule.labels(predictions.scores)
            self.folder.write_predictions(predictions, path)
            self._predictions[path] = predictions
        return rule

    def _use_rule(self, rule: LabellingRule) -> None:
        """Every loaded engine's classifier labels by `rule` from now on (new tasks)."""
        self._models = {e: with_rule(m, self.info, rule) for e, m in self._models.items()}

    # predictions, submission, score ------------------------------------------------------
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
            path = self.predictions_path(split, data)
            self.folder.write_predictions(predictions, path)
            self._predictions[path] = predictions
        if masks_dir is not None:
            write_mask_pngs(predictions, Path(masks_dir), dataset_palette(self.data_dir))
        return predictions

    def predictions_path(self, split: str = "test", data: str | Path | None = None) -> Path:
        """Where `predict` saves the predictions of `split` of `data` (default the run's
        data: predictions/<split>.npz; other data get a file of their own)."""
        own = data is None or Path(data).resolve() == self.data_dir.resolve()
        return self.folder.layout.predictions(split, None if own else Path(data))

    def predictions(self, split: str = "test", data: str | Path | None = None) -> Predictions:
        """The saved predictions of `split` of `data` (default the run's own data), predicted
        now if there are none."""
        path = self.predictions_path(split, data)
        if path not in self._predictions:
            if path.is_file():
                self._predictions[path] = self.folder.read_predictions(path)
            else:
                self.predict(split=split, data=data)
        return self._predictions[path]

    def submit(
        self, split: str = "test", threshold: float | None = None, out: str | Path | None = None
    ) -> Submission:
        """Write submission.csv from the saved predictions of the run's own `split`
        (validated first) to `out` (default RUN/submission.csv; a folder gets submission.csv
        inside). `threshold` becomes the run's labelling threshold first (`set_threshold`).
        Scoring the run's own submission records score.json, which the report shows."""
        if threshold is not None:
            self.set_threshold(threshold)
        predictions = self.predictions(split)
        check_predictions(predictions, self.info, self.predictions_path(split))
        own = self.folder.layout.submission
        path = Path(out) if out is not None else own
        if path.is_dir():  # like cp: into the folder, under the usual name
            path = path / own.name
        path = write_submission_of(predictions, path)
        truth = test_truth(self.info, self.root) if split == "test" else None
        record = self._record_score if path.resolve() == own.resolve() else None
        return Submission(path, truth, record)

    def _record_score(self, score: Score) -> None:
        self.folder.write_score(score, score_intervals(score))

    # attacks, baselines, evaluation, report ----------------------------------------------
    def attack(
        self,
        split: str = "val",
        eps: float = 4 / 255,
        data: str | Path | None = None,
        *,
        settings: AttackSettings | None = None,
        skipped: Sequence[str] = (),
        **options,
    ) -> AttackResults:
        """The attack suite on the labelled `split` with `settings` (default
        `AttackSettings(eps=eps, **options)`); attacks that learn use the run's training
        part; `skipped` notes what was left out (the report says so). Saved in attacks/."""
        settings = settings or AttackSettings(eps=eps, **options)
        train = self.images("train") if settings.learns else None
        images = self.images(split, data)
        results = attack_run(self.folder, self.models, images, split, settings, train)
        if skipped:
            results.skipped = list(skipped)
            self.folder.write_attacks(results)
        return results

    def train_baseline(
        self, name: str, callbacks: Sequence[L.Callback] = ()
    ) -> TrainedModels | None:
        """Train the baseline `name` (a key of `workflow.baselines.BASELINES`: "classifier",
        "segmenter" from scratch, "unet_pretrained") into RUN/baselines/<name>/, kept
        loaded for the evaluation (None in a DDP worker process, which only fits)."""
        trained = train_baseline(self.folder, self.info, name, callbacks)
        if trained is not None:
            self._baselines[name] = trained
        return trained

    def evaluate(self) -> Evaluation:
        """Measure what the report shows (see `vocvision.evaluation`)."""
        return evaluate(self.folder, self.info, self.models, self._baselines)

    def report(self, measure: bool = True, execute_s: float | None = None) -> Path:
        """Evaluate the run (unless `measure` is False: render the saved records again) and
        write report.html and report.ipynb (executed, each cell within `execute_s` seconds,
        when given); returns the report's path."""
        if measure or self.folder.read_evaluation() is None:
            self.evaluate()
        write_notebook(self.folder, execute_s)
        return write_report(self.folder)

    def notebook(self) -> Path:
        """Write report.ipynb from what the run holds (evaluated first if it is not yet)."""
        if self.folder.read_evaluation() is None:
            self.evaluate()
        return write_notebook(self.folder)

"""`vocvision run` as one budgeted job: its stages, the five-section report, the notebook."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import html5lib
import nbformat
import pytest
from nbclient import NotebookClient
from tiny import tiny_config
from typer.testing import CliRunner

import vocvision as vv
from vocvision.cli import app
from vocvision.cli.options import parse_duration
from vocvision.inference.view_budget import Views
from vocvision.runfolder import RunFolder
from vocvision.workflow.run_models import load_models
from vocvision.workflow.view_choice import fit_views

SECTIONS = ["1 Overview and data", "2 Classification", "3 Segmentation",
            "4 Adversarial attacks", "5 Discussion"]  # fmt: skip
NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def job(kaggle_dir, tmp_path_factory):
    """The whole job on the tiny set, in a budget every stage fits."""
    return vv.run(kaggle_dir, tmp_path_factory.mktemp("job"), tiny_config(), budget_s=150)


def _html(run) -> object:
    return html5lib.parse(run.folder.layout.report.read_text(), namespaceHTMLElements=True)


def _text(element) -> str:
    return "".join(element.itertext()).strip()


def test_every_stage_ran_in_its_share_and_the_job_is_recorded(job):
    run, score = job
    record = run.folder.read_job()
    assert [s.name for s in record.stages] == [
        "classify", "segment", "baselines", "predict", "attack", "report"
    ]  # fmt: skip
    assert all(s.status == "done" for s in record.stages)
    assert sum(s.seconds for s in record.stages) < record.budget_s
    assert score is not None and run.folder.layout.submission.is_file()
    for name, model in (("classifier", "classifier"), ("segmenter", "segmenter"),
                        ("unet_pretrained", "segmenter")):  # the baselines, each a run  # fmt: skip
        assert (run.folder.layout.baseline(name) / model / "model.safetensors").is_file()
    assert run.folder.read_attacks().rows


def test_the_report_has_the_five_sections_contents_and_captioned_figures(job):
    run, _ = job
    page = _html(run)
    headings = [_text(h) for h in page.iter(f"{NS}h2")]
    assert [h for h in headings if h != "Contents"] == SECTIONS
    ids = {e.get("id") for e in page.iter() if e.get("id")}
    links = [a.get("href") for a in page.iter(f"{NS}a")]
    assert len(links) >= 5 and all(link[1:] in ids for link in links)
    figures = list(page.iter(f"{NS}figure"))
    assert len(figures) >= 10
    for number, figure in enumerate(figures, start=1):
        caption = figure.find(f"{NS}figcaption")
        assert caption is not None and _text(caption).startswith(f"Figure {number}: ")
        assert len(_text(caption)) > 30 and figure.find(f"{NS}img") is not None
    text = _text(page)
    # each comparison with a baseline is marked by its paired bootstrap: an improvement,
    # within noise, or no improvement
    marks = ("Improvement", "Within noise", "No improvement")
    for what in ("pretrained backbone", "pretrained encoder alone", "dense CRF"):
        assert any(f"{mark}: {what}" in text for mark in marks), what
    assert "Nothing was measured" not in text and "References" in text


def test_the_job_ran_its_notebook_in_the_template_s_structure(job):
    run, _ = job
    notebook = nbformat.read(run.folder.layout.notebook, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.execution_count and c.outputs for c in code)  # none left empty
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert str(run.folder.root) not in code[0].source  # DATA and RUN are relative
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in ("### 1.1 Deep-learning resources", "### 1.2 The data",
                    "### 1.3 The Kaggle submission", "### 2.1 From scratch",
                    "### 2.2 Pretrained", "### 3.1 The model", "### 4.1 Goal",
                    "### 4.2 Method", "### 4.3 Imperceptibility", "### 4.4 Result",
                    "### 5.1 Links to the course",
                    "### 5.2 Real-world computer vision"):  # fmt: skip
        assert heading in markdown, heading
    assert re.search(r"### 2\.3 (Improvement|Tried): pretrained", markdown)
    # the segmenter against the same-recipe U-Net over its encoder, which against the U-Net
    # from scratch measures the encoder alone
    assert re.search(
        r"### 3\.2 (Improvement|Tried): .* instead of U-Net over the pretrained encoder", markdown
    )
    assert re.search(r"### 3\.3 (Improvement|Tried): a pretrained .* instead of random", markdown)
    encoder = next(c for c in code if "rle_encode(" in c.source)  # 1.3: the encoder, visible
    printed = "".join(o.get("text", "") for o in encoder.outputs)
    assert "_classification: " in printed and "_segmentation: " in printed


def test_the_report_s_numbers_are_read_from_the_results(job):
    run, _ = job
    text = _text(_html(run))
    evaluation, attacks = run.folder.read_evaluation(), run.folder.read_attacks()
    ours, baseline = evaluation.classification["summary"]["dice"], evaluation.baselines[
        "classifier"]["dice"]  # fmt: skip
    assert f"{ours - baseline:+.3f} per-image Dice over the scratch CNN classifier " \
           f"({ours:.3f} vs {baseline:.3f}" in text  # fmt: skip
    unet = {name: evaluation.baselines[name]["mIoU"] for name in ("unet_pretrained", "segmenter")}
    gain = unet["unet_pretrained"] - unet["segmenter"]
    assert f"{gain:+.3f} mIoU over random weights ({unet['unet_pretrained']:.3f} vs " \
           f"{unet['segmenter']:.3f}" in text  # fmt: skip
    # the pair trains the same epochs: the one over the pretrained encoder repeats the count
    scratch, pretrained = (evaluation.baselines[n] for n in ("segmenter", "unet_pretrained"))
    assert pretrained["planned_epochs"] == scratch["epochs"] >= pretrained["epochs"]
    for row in (r for r in attacks.rows if r.attack == "generator"):
        assert f"The {row.model}'s generator reaches the goal ({row.goal}) with a success " \
               f"of {row.success:.0%} ({row.clean_success:.0%} before the attack) on " \
               f"{row.images} unseen images" in text  # fmt: skip
    assert "hurts thin structures" not in text  # a claim the run never measured


def test_the_notebook_runs_again_from_its_own_folder(job):
    run, _ = job
    notebook = nbformat.read(run.folder.layout.notebook, as_version=4)
    run.folder.layout.submission.unlink()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(run.folder.root)}})  # fmt: skip
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    assert run.folder.layout.submission.is_file()


def test_the_views_that_fit_the_predict_share_are_kept_in_run_json(job, tmp_path):
    run, _ = job
    predict = {s.name: s for s in run.folder.read_job().stages}["predict"]
    assert "views: " in predict.note
    folder = RunFolder(shutil.copytree(run.root, tmp_path / "run"))
    info = folder.read_info()
    full = dataclasses.replace(
        info.config.segmenter, tta_flip=True, tta_scales=(0.75, 1.0, 1.25), crf=True
    )
    info = dataclasses.replace(info, config=dataclasses.replace(info.config, segmenter=full))
    folder.write_info(info)
    models = load_models(folder, info)
    pixels = [s.image for s in vv.Run(folder, info).images("test").samples]
    same, choice = fit_views(folder, info, models, pixels, len(pixels), seconds=1e6)
    assert same is info and choice.chosen == choice.configured == Views.of(full)
    _, choice = fit_views(folder, info, models, pixels, len(pixels), seconds=0.0)
    assert choice.chosen == Views() and "one view instead of flip + scales + CRF" in (
        choice.describe()
    )
    reloaded = vv.Run.load(folder.root)  # run.json now holds the views every prediction uses
    assert Views.of(reloaded.config.segmenter) == Views()
    assert len(reloaded.predict(split="test").masks) == len(pixels)


def test_a_small_budget_skips_what_does_not_fit_and_says_so(kaggle_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(kaggle_dir, data)
    shutil.rmtree(data / "truth")  # the competition's case: test answers hidden
    run, score = vv.run(data, tmp_path / "run", tiny_config(), budget_s=8)
    stages = {s.name: s for s in run.folder.read_job().stages}
    assert stages["baselines"].status == "skipped" and stages["attack"].status == "skipped"
    assert stages["predict"].status == "done" and score is None
    text = _text(_html(run))
    assert "skipped" in text and "validation part of train" in text
    assert "test answers are hidden" in text


def test_only_some_parts(kaggle_dir, tmp_path):
    run, _ = vv.run(kaggle_dir, tmp_path, tiny_config(), budget_s=600, only=("classify",))
    stages = {s.name: s.status for s in run.folder.read_job().stages}
    assert stages["segment"] == "not asked" and stages["classify"] == "done"
    assert run.folder.trained_models(run.info) == ("classifier",)
    assert not run.folder.layout.submission.exists()  # a submission needs masks
    assert "No segmenter: left out by --only." in _text(_html(run))


def test_budgets_read_like_durations_and_bad_ones_are_refused(kaggle_dir, tmp_path):
    assert parse_duration("45m") == 2700 and parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90 and parse_duration("2700") == 2700
    result = CliRunner().invoke(app, ["run", str(kaggle_dir), "--budget", "45x"])
    assert result.exit_code == 2 and "expected a duration" in result.output
    result = CliRunner().invoke(app, ["run", str(kaggle_dir), "--only", "dance"])
    assert result.exit_code != 0
    assert not json.dumps(result.output).count("Traceback")

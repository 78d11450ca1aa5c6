"""Bringing runs of earlier vocvision versions forward: run.json to today's schema, and their
pickled model files to safetensors (read with `weights_only=True`, so nothing runs).

Schema 1 (no "schema" key): data_dir, train_split, test_split, classes, train_ids, val_ids
and the config, in which settings added later are missing. The code of that time read them
with defaults of its own, which differ from today's dataclass defaults where a setting's
default changed; each setting's declared `legacy` value (see `vocvision.config_fields`) restores
what such a run did. Schema 2 moved the data's description into "data"; schema 3 added
settings that are off by default (segmenter.self_train, ema_decay), so a schema-2 run reads
as it ran; schema 4 settles segmenter.loss by the CRF (ohem+dice where it is off), so a
schema-3 run that lacks it ran with ce+dice. Later schemas change only settings, and
`SCHEMA_VERSION` moves whenever a default does (a test pins the defaults of each schema).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..config import RunConfig
from ..config_fields import declared, legacy_value
from ..errors import RunFolderError
from ..layout import ModelLayout
from ..models import Classifier, ProbeClassifier, Segmenter
from ..training.checkpoints import read_checkpoint
from .records import SCHEMA_VERSION

log = logging.getLogger(__name__)


def migrate(raw: dict, source: Path) -> dict:
    """A run.json dict of any schema, in today's schema (`RunInfo.from_dict` reads it)."""
    if not isinstance(raw, dict):
        raise RunFolderError(f"{source}: not a run description (a JSON object)")
    schema = raw.get("schema", 1)
    if schema == SCHEMA_VERSION:
        return raw
    if isinstance(schema, int) and schema < 1:
        raise RunFolderError(f"{source}: schema {schema} is no vocvision run description")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise RunFolderError(
            f"{source}: schema {schema!r} is newer than this vocvision reads ({SCHEMA_VERSION});"
            " upgrade vocvision"
        )
    if schema == 1:
        raw = _from_schema_1(raw, source)
    log.info("%s: run of schema %d read in schema %d", source, schema, SCHEMA_VERSION)
    config = raw.get("config")
    if not isinstance(config, dict):
        raise RunFolderError(f"{source}: the run's config is not a JSON object")
    return {**raw, "schema": SCHEMA_VERSION, "config": legacy_config(config, schema)}


def legacy_config(config: dict, schema: int) -> dict:
    """A run.json config of `schema` in today's: each setting the file lacks takes the value
    runs of that schema ran with (its declared `legacy` value), else today's default;
    settings no longer known are dropped."""
    result: dict = {}
    for name, f, _ in declared(RunConfig()):
        *sections, key = name.split(".")
        given, target = config, result
        for section in sections:
            given = given.get(section, {}) if isinstance(given, dict) else {}
            target = target.setdefault(section, {})
        if isinstance(given, dict) and key in given:
            target[key] = given[key]
        else:
            known, value = legacy_value(f, schema)
            if known:
                target[key] = list(value) if isinstance(value, tuple) else value
    if schema == 1 and result.get("segmenter", {}).get("crf") is None:
        result.setdefault("segmenter", {})["crf"] = False  # "auto" did not exist: no CRF
    return result


def _from_schema_1(raw: dict, source: Path) -> dict:
    """Schema 1's flat description (data_dir, train_split, ...) in schema 2's layout."""
    required = ("data_dir", "train_split", "test_split", "classes", "config")
    missing = [k for k in required if k not in raw]
    if missing:
        raise RunFolderError(f"{source}: run description lacks {missing}")
    data_dir = Path(raw["data_dir"])
    has_background, coding = _legacy_labels(data_dir, len(raw["classes"]))
    return {
        "data": {
            "dir": str(data_dir),
            "train_split": raw["train_split"],
            "test_split": raw["test_split"],
            "classes": raw["classes"],
            "has_background": has_background,
            "mask_coding": coding,
        },
        "train_ids": raw.get("train_ids", []),
        "val_ids": raw.get("val_ids", []),
        "config": raw["config"],
    }


def _legacy_labels(data_dir: Path, num_classes: int) -> tuple[bool, dict]:
    """Background and mask coding of a schema-1 run: from the data's labelmap.json when it is
    still there (VOC layout), else the Kaggle layout's (background 0, classes 1..K)."""
    labelmap = data_dir / "labelmap.json"
    try:
        spec = json.loads(labelmap.read_text())
        background = spec.get("background")
        values = [v for v in range(len(spec["classes"])) if v != background]
        return background is not None, {"values": [background, *values], "ignore": 255}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return True, {"values": list(range(num_classes + 1)), "ignore": 255}


def migrate_model(layout: ModelLayout, name: str, info) -> bool:
    """Write `model.safetensors` for a model folder of the earlier format (a probe.pt, or a
    Lightning best/last.ckpt) of the run `info` describes; True when there was one."""
    method, task_config = info.config.classifier.method, info.config.task(name)
    if name == "classifier" and method == "probe":
        if not layout.legacy_probe.is_file():
            return False
        saved = read_checkpoint(layout.legacy_probe)
        hp = saved["hparams"]
        model = ProbeClassifier(len(info.classes), hp["backbone"], "none", hp["num_heads"])
        model.load_state_dict(saved["state_dict"])
        size = hp["image_size"]
    else:
        found = [p for p in (layout.best_checkpoint, layout.last_checkpoint) if p.is_file()]
        if not found:
            return False
        saved = read_checkpoint(found[0])
        hp = saved.get("hyper_parameters", {})
        backbone = hp.get("backbone", task_config.backbone)
        if name == "classifier":
            model = Classifier(len(info.classes), backbone, "none")
        else:
            arch = hp.get("arch", task_config.arch)
            background = hp.get("background", info.has_background)
            width = hp.get("decoder_width", task_config.decoder_width)
            model = Segmenter(len(info.classes), backbone, "none", arch, background, width)
        state = saved["state_dict"]
        model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        size = hp.get("image_size", task_config.image_size)
    model.save_pretrained(layout.root, task=name, classes=info.classes, image_size=size)
    log.info("%s: %s converted to %s", layout.root, name, layout.weights.name)
    return True

"""A run setting is declared once: its checks, help, legacy value and the schema follow."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest

from vocvision.config import ConfigError, RunConfig
from vocvision.config_fields import setting
from vocvision.runfolder import RunFolder
from vocvision.runfolder.records import DEFAULTS_DIGESTS, SCHEMA_VERSION, defaults_digest

migrate_module = importlib.import_module("vocvision.runfolder.migrate")


def test_the_defaults_change_only_with_a_new_schema():
    assert DEFAULTS_DIGESTS[SCHEMA_VERSION] == defaults_digest(), (
        "the default settings changed: bump runfolder.records.SCHEMA_VERSION, record the new "
        "digest, and give changed settings legacy={old schema: old value}"
    )


@dataclasses.dataclass
class KnobbedConfig(RunConfig):
    """RunConfig with one more setting, declared the one way a setting is declared."""

    knob: int = setting(3, "How far the knob turns.", low=1, high=9, legacy={2: 7})


def test_a_new_setting_is_one_declaration(monkeypatch, tmp_path):
    config = KnobbedConfig()
    # checked: range and whole numbers, named in the error
    assert config.validate() is config
    with pytest.raises(ConfigError, match=r"knob must be in 1\.\.9, got 12"):
        config.set("knob=12").validate()
    with pytest.raises(ConfigError, match="knob must be a whole number"):
        KnobbedConfig(knob=2.5).validate()
    # described: the help, and the table `vocvision settings` prints
    assert KnobbedConfig.describe("knob") == "How far the knob turns."
    assert ("knob", "3", "1..9", "How far the knob turns.") in KnobbedConfig.settings_table()
    # migrated: a run.json of schema 2 that lacks it ran with its legacy value
    monkeypatch.setattr(migrate_module, "RunConfig", KnobbedConfig)
    assert migrate_module.legacy_config({"seed": 1}, schema=2)["knob"] == 7
    assert migrate_module.legacy_config({"seed": 1, "knob": 5}, schema=2)["knob"] == 5
    assert "knob" not in migrate_module.legacy_config({}, schema=SCHEMA_VERSION + 1)


def test_a_schema_3_run_without_a_loss_ran_with_ce_dice():
    legacy_config = migrate_module.legacy_config
    assert legacy_config({}, schema=3)["segmenter"]["loss"] == "ce+dice"
    given = {"segmenter": {"loss": "ohem+dice"}}
    assert legacy_config(given, schema=3)["segmenter"]["loss"] == "ohem+dice"
    assert "loss" not in legacy_config({}, schema=4).get("segmenter", {})


def test_every_setting_has_help_and_the_cli_options_use_it():
    from vocvision.cli.options import TRAINING_OPTIONS, option_help

    for name, _default, _, text in RunConfig.settings_table():
        assert text.strip(), f"{name} has no help"
    for option, (keys, _) in TRAINING_OPTIONS.items():
        assert option_help(option).startswith(RunConfig.describe(keys[0]))


def test_an_older_schema_in_run_json_takes_the_legacy_values(tmp_path):
    info = {
        "schema": SCHEMA_VERSION,
        "data": {
            "dir": str(tmp_path),
            "train_split": "train",
            "test_split": "test",
            "classes": ["a", "b"],
            "has_background": True,
            "mask_coding": {"values": [0, 1, 2], "ignore": 255},
        },
        "train_ids": ["0"],
        "val_ids": ["1"],
        "config": RunConfig().to_dict(),
    }
    (tmp_path / "run.json").write_text(json.dumps(info))
    assert RunFolder(tmp_path).read_info().config == RunConfig()
    info["schema"] = SCHEMA_VERSION + 1
    (tmp_path / "run.json").write_text(json.dumps(info))
    with pytest.raises(Exception, match="newer than this vocvision reads"):
        RunFolder(tmp_path).read_info()


def test_the_settings_command_lists_every_setting():
    from typer.testing import CliRunner

    from vocvision.cli import app

    result = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for name, *_ in RunConfig.settings_table():
        assert name in result.output

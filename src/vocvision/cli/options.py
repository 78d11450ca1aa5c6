"""The training options of `vocvision run` and `vocvision train`, declared once, as data.

Each option sets one or more settings of the run configuration, and only when given, on top
of `--config-file` (or the defaults); `--set KEY=VALUE` reaches any setting.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Annotated

import typer

from ..config import RunConfig

# option -> (settings it sets, type); the help is the first setting's own (`setting`).
TRAINING_OPTIONS: dict[str, tuple[tuple[str, ...], type]] = {
    "epochs": (("classifier.epochs", "segmenter.epochs"), int),
    "backbone": (("classifier.backbone", "segmenter.backbone"), str),
    "pretrained": (("classifier.pretrained", "segmenter.pretrained"), str),
    "arch": (("segmenter.arch",), str),
    "method": (("classifier.method",), str),
    "loss": (("classifier.loss",), str),
    "seed": (("seed",), int),
    "accelerator": (("accelerator",), str),
    "devices": (("devices",), str),
    "num_nodes": (("num_nodes",), int),
    "precision": (("precision",), str),
    "max_train_images": (("max_train_images",), int),
    "self_train": (("segmenter.self_train",), bool),
    "attack_goal": (("attack_goal",), str),
    "group_pattern": (("group_pattern",), str),
}


def option_help(name: str) -> str:
    """The help of option `name`: its setting's declared help, and what it sets."""
    keys = TRAINING_OPTIONS[name][0]
    return f"{RunConfig.describe(keys[0])} (sets {', '.join(keys)})"


ConfigFile = Annotated[Path | None, typer.Option(help="A run configuration (JSON) to start from.")]
Settings = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Any setting of vocvision.config, KEY=VALUE (JSON), repeatable: "
        "--set segmenter.loss=focal+dice --set segmenter.tta_scales=[1]",
    ),
]


def build_config(
    config_file: Path | None = None, settings: list[str] | None = None, **options
) -> RunConfig:
    """`config_file` (or the defaults), then the `options` given (not None), then the
    `--set` settings."""
    config = RunConfig.load(config_file) if config_file else RunConfig()
    for name, value in options.items():
        if value is not None:
            for key in TRAINING_OPTIONS[name][0]:
                config.assign(key, value)
    for setting in settings or ():
        config.set(setting)
    return config


def with_training_options(command):
    """Give a typer command the training options, `--config-file` and `--set`; the command
    takes a `config: RunConfig` argument, built from them by `build_config`."""
    original = inspect.signature(command, eval_str=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    added = [
        inspect.Parameter(
            name,
            keyword,
            default=None,
            annotation=Annotated[kind | None, typer.Option(help=option_help(name))],
        )
        for name, (_, kind) in TRAINING_OPTIONS.items()
    ]
    added += [
        inspect.Parameter("config_file", keyword, default=None, annotation=ConfigFile),
        inspect.Parameter("settings", keyword, default=None, annotation=Settings),
    ]
    kept = [p for p in original.parameters.values() if p.name != "config"]

    @functools.wraps(command)
    def wrapper(**kwargs):
        options = {name: kwargs.pop(name) for name in TRAINING_OPTIONS}
        config = build_config(kwargs.pop("config_file"), kwargs.pop("settings"), **options)
        return command(config=config, **kwargs)

    wrapper.__signature__ = inspect.Signature(kept + added)
    wrapper.__annotations__ = {p.name: p.annotation for p in kept + added}
    return wrapper


def parse_duration(text: str) -> float:
    """Seconds of a duration like "45m", "1h30m", "90s" or "2700" (seconds)."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.fullmatch(
            r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", value
        )
        if not value or parts is None:
            raise typer.BadParameter(f"'{text}': expected a duration like 45m, 1h30m or 2700s")
        h, m, s = (float(g) if g else 0.0 for g in parts.groups())
        seconds = 3600 * h + 60 * m + s
    if seconds <= 0:
        raise typer.BadParameter(f"'{text}': the budget must be above 0")
    return seconds

"""Declaring a run setting once, and checking every declared setting.

A setting is a dataclass field made with `setting(default, help, ...)`: its allowed values
(`choices`, or a `low`..`high` range), its help text (the CLI's `--help`, `vocvision
settings`), and `legacy`, the value that runs of older run.json schemas assumed where the
file lacks the setting (`runfolder.migrate` reads it). Whether a setting is a whole number,
and whether it may be None (unset), comes from its type annotation. `check` applies all of it
to any configuration built of such dataclasses, so a new setting is one declaration in
`vocvision.config` (the run's) or `vocvision.model_config` (a model's): `--set` and config
files take it at once; a flag of its own is a line in `cli.options.TRAINING_OPTIONS`; and
since the defaults changed, `runfolder.records` gets a new SCHEMA_VERSION and digest (a test
says so).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import Field
from typing import Any

from .errors import VocvisionError


class ConfigError(VocvisionError, ValueError):
    """A run setting outside its allowed values, or a configuration file that is not one."""


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    low: float | None = None,
    high: float | None = None,
    open_range: bool = False,
    legacy: dict[int, Any] | None = None,
    check: Callable[[str, Any], None] | None = None,
) -> Any:
    """A dataclass field declaring one run setting.

    Args:
        default: the value when none is given (a tuple stays a tuple; lists are not allowed).
        help: one line saying what it does and what the dev sets measured for it.
        choices: the allowed values, when they are a list.
        low, high: the allowed range (None: unbounded on that side).
        open_range: the range excludes `low` and `high` themselves.
        legacy: {schema: value}: a run.json of that schema (or older) that lacks the setting
            ran with `value` (see `legacy_value`).
        check: an extra check `check(name, value)` raising ConfigError.
    """
    metadata = {
        "help": help,
        "choices": choices,
        "range": None if low is None and high is None else (low, high, not open_range),
        "legacy": dict(legacy or {}),
        "check": check,
    }
    return dataclasses.field(default=default, metadata=metadata)


def declared(config: Any, prefix: str = "") -> Iterator[tuple[str, Field, Any]]:
    """(dotted name, field, value) of every setting of `config`, sections included."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield from declared(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f, value


def legacy_value(f: Field, schema: int) -> tuple[bool, Any]:
    """(True, value) when a run.json of `schema` lacking setting `f` ran with `value`:
    the value of the oldest schema at or after `schema` that `legacy` names; else (False,
    None), and today's default applies."""
    later = sorted(s for s in f.metadata.get("legacy", {}) if s >= schema)
    return (True, f.metadata["legacy"][later[0]]) if later else (False, None)


def check(config: Any) -> None:
    """Raise ConfigError for the first setting of `config` outside its allowed values."""
    for name, f, value in declared(config):
        meta = f.metadata
        if value is None and "None" in str(f.type):
            continue
        if meta.get("choices") is not None and value not in meta["choices"]:
            raise ConfigError(f"{name} must be one of {meta['choices']}, got '{value}'")
        if meta.get("range") is not None:
            _check_range(name, value, meta["range"], str(f.type).startswith("int"))
        if meta.get("check") is not None:
            meta["check"](name, value)


def _check_range(name: str, value, bounds: tuple, integer: bool) -> None:
    low, high, inclusive = bounds
    if not is_number(value) or (integer and float(value) != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    below = low is not None and (value < low if inclusive else value <= low)
    above = high is not None and (value > high if inclusive else value >= high)
    if below or above:
        if high is None:
            allowed = f"{'>=' if inclusive else '>'} {low}"
        elif inclusive:
            allowed = f"in {low}..{high}"
        else:
            allowed = f"strictly between {low} and {high}"
        raise ConfigError(f"{name} must be {allowed}, got {value}")


def check_devices(name: str, devices) -> None:
    """'auto', -1, a count >= 1, or a comma-separated list of device ids."""
    text = str(devices).strip()
    if text == "auto" or text == "-1":
        return
    parts = [p for p in text.split(",") if p.strip()]
    if not parts or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"{name} must be 'auto', a count >= 1 or a list of ids, got '{devices}'")
    if len(parts) == 1 and int(parts[0]) < 1:
        raise ConfigError(f"{name} must be 'auto' or a count >= 1, got '{devices}'")


def check_scales(name: str, scales) -> None:
    """At least one test-time scale, all above 0."""
    if not scales or not all(is_number(s) and s > 0 for s in scales):
        raise ConfigError(
            f"{name} needs at least one scale, all above 0 (1 = the inference size alone), got "
            f"{list(scales) if isinstance(scales, tuple | list) else scales!r}"
        )


def check_decoder_width(name: str, width) -> None:
    """A multiple of 64 (FPN's group norms take groups of 32 channels)."""
    if not isinstance(width, int) or isinstance(width, bool) or width < 64 or width % 64:
        raise ConfigError(
            f"{name} must be a multiple of 64 (FPN's group norms take groups of 32 channels), "
            f"got {width}"
        )


def check_pattern(name: str, pattern) -> None:
    """A regular expression that compiles."""
    try:
        re.compile(pattern)
    except (re.error, TypeError) as err:
        raise ConfigError(f"{name} must be a regular expression, got {pattern!r} ({err})") from None


def is_number(value) -> bool:
    """A real, finite number (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

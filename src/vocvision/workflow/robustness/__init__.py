"""The attack suite on a trained run (see `suite`)."""

from .learned import GENERATOR_SETTINGS
from .suite import THREAT_MODEL, AttackSettings, attack_run

__all__ = ["GENERATOR_SETTINGS", "THREAT_MODEL", "AttackSettings", "attack_run"]

"""Plain, safe model files: `model.safetensors` (the weights) + `config.json` (how to build
the module), in the shape of segmentation-models-pytorch's `save_pretrained` /
`from_pretrained`. Neither file holds code, so loading a model someone sent you never runs
anything (a pickled checkpoint can).

    model.save_pretrained("runs/r1/segmenter", image_size=256)   # any extra JSON metadata
    model = Segmenter.from_pretrained("runs/r1/segmenter")
    model, config = load_pretrained("runs/r1/segmenter")         # whichever class it is
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from ..errors import ModelFileError
from ..fileio import atomic_path, write_json

WEIGHTS_FILE, CONFIG_FILE = "model.safetensors", "config.json"
FORMAT_VERSION = 1
_REGISTRY: dict[str, type[nn.Module]] = {}


class SavesPretrained:
    """Mixin for our `nn.Module`s: `save_pretrained(folder)` and `from_pretrained(folder)`.

    A subclass records its constructor arguments in `self.init_args` (JSON values, without
    the ImageNet `pretrained` source: loaded weights replace them).
    """

    init_args: dict

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def save_pretrained(self, folder: str | Path, **metadata) -> Path:
        """Write `folder/model.safetensors` and `folder/config.json` (atomically); `metadata`
        (JSON values, e.g. the input size and class names) is stored beside the arguments."""
        folder = Path(folder)
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_model(self, str(tmp))
        config = {
            "format": FORMAT_VERSION,
            "class": type(self).__name__,
            "args": self.init_args,
            **metadata,
        }
        write_json(folder / CONFIG_FILE, config)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> nn.Module:
        """The module saved in `folder`, in eval mode on the CPU."""
        model, config = load_pretrained(folder)
        if not isinstance(model, cls):
            raise ModelFileError(f"{Path(folder) / CONFIG_FILE}: holds a {config['class']}")
        return model


def read_model_config(folder: str | Path) -> dict:
    """The `config.json` of a saved model, checked to name a known class."""
    path = Path(folder) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no saved model here (train first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path}: unreadable model config ({err})") from None
    if not isinstance(config, dict) or config.get("class") not in _REGISTRY:
        found = config.get("class") if isinstance(config, dict) else config
        raise ModelFileError(
            f"{path}: not a vocvision model config (class {found!r}; known: {sorted(_REGISTRY)})"
        )
    if not isinstance(config.get("args"), dict):
        raise ModelFileError(f"{path}: model config without 'args'")
    return config


def load_pretrained(folder: str | Path) -> tuple[nn.Module, dict]:
    """(module in eval mode on the CPU, its config.json) of the model saved in `folder`."""
    folder = Path(folder)
    config = read_model_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelFileError(f"{weights}: model weights not found")
    try:
        model = _REGISTRY[config["class"]](**config["args"], pretrained="none")
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{folder / CONFIG_FILE}: cannot build the model ({err})") from None
    try:
        load_model(model, str(weights), strict=True, device="cpu")
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise ModelFileError(f"{weights}: unreadable or mismatched weights ({err})") from None
    return model.eval(), config

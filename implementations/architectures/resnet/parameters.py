"""ResNet's parameters: their names and shapes, the spec they imply, their initialization, and
which of them train, decay or count.

Parameters are a dict of NumPy arrays with torchvision's ``state_dict`` names and layouts
(``conv1.weight`` (64, 3, 7, 7), ``bn1.weight``, ``bn1.running_mean``, ``bn1.num_batches_tracked``,
``layer1.0.conv1.weight``, ``layer1.0.downsample.0.weight``, ``fc.weight`` (classes, 2048), ...), so
weights move between backends and torchvision unchanged. Convolutions have no bias.
"""

from __future__ import annotations

import re

import numpy as np

from .spec import IMAGE_CHANNELS, ResNetSpec

_BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn_shapes(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{suffix}": (() if suffix == "num_batches_tracked" else (channels,)) for suffix in _BN_SUFFIXES}


def param_shapes(spec: ResNetSpec) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter and buffer, in torchvision's ``state_dict`` order."""
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (spec.stem_width, IMAGE_CHANNELS, 7, 7)}
    shapes.update(_bn_shapes("bn1", spec.stem_width))
    for block in spec.block_plans():
        shapes[f"{block.name}.conv1.weight"] = (block.width, block.in_channels, 1, 1)
        shapes.update(_bn_shapes(f"{block.name}.bn1", block.width))
        shapes[f"{block.name}.conv2.weight"] = (block.width, block.width, 3, 3)
        shapes.update(_bn_shapes(f"{block.name}.bn2", block.width))
        shapes[f"{block.name}.conv3.weight"] = (block.out_channels, block.width, 1, 1)
        shapes.update(_bn_shapes(f"{block.name}.bn3", block.out_channels))
        if block.has_downsample:
            shapes[f"{block.name}.downsample.0.weight"] = (block.out_channels, block.in_channels, 1, 1)
            shapes.update(_bn_shapes(f"{block.name}.downsample.1", block.out_channels))
    shapes["fc.weight"] = (spec.num_classes, spec.features)
    shapes["fc.bias"] = (spec.num_classes,)
    return shapes


def _is_buffer(name: str) -> bool:
    return name.endswith((".running_mean", ".running_var", ".num_batches_tracked"))


def trainable_names(spec: ResNetSpec) -> list[str]:
    """Convolution weights, batch-norm weights and biases, and the classifier: ``named_parameters`` order."""
    return [name for name in param_shapes(spec) if not _is_buffer(name)]


def counter_names(spec: ResNetSpec) -> list[str]:
    """The integer buffers (``num_batches_tracked``): trainers keep them as Python ints and count steps."""
    return [name for name in param_shapes(spec) if name.endswith(".num_batches_tracked")]


def param_count(spec: ResNetSpec) -> int:
    """Trainable parameters (25,557,032 for ResNet-50 with 1000 classes)."""
    shapes = param_shapes(spec)
    return sum(int(np.prod(shapes[name])) for name in trainable_names(spec))


def weight_decay_names(spec: ResNetSpec) -> set[str]:
    """Convolution and classifier weights. Batch-norm parameters and biases are not decayed
    (Goyal et al. 2017; decaying them only shrinks the scale that batch norm then undoes)."""
    return {name for name, shape in param_shapes(spec).items() if name.endswith(".weight") and len(shape) >= 2}


def default_sgd():
    """lr 0.1, momentum 0.9, weight decay 1e-4: the ImageNet recipe of He et al. 2015 at batch 256."""
    from ...trainer import SGDConfig  # noqa: PLC0415  (avoids a cycle at import time)

    return SGDConfig(lr=0.1, momentum=0.9, weight_decay=1e-4)


_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.conv1\.weight$")


def spec_from_params(params: dict[str, np.ndarray]) -> ResNetSpec:
    """Read blocks, widths and classes from ``params`` and check every tensor is present and shaped.

    Raises ValueError naming the first missing, misshapen or unexpected tensor.
    """
    found = sorted({(int(m.group(1)), int(m.group(2))) for key in params if (m := _BLOCK_KEY.match(key))})
    stages = sorted({stage for stage, _ in found})
    if not stages or stages != list(range(1, len(stages) + 1)):
        raise ValueError("ResNet parameters must hold layer1.0.conv1.weight, layer2.0.conv1.weight, ... "
                         f"(torchvision names); found stages {stages}")
    blocks = []
    for stage in stages:
        indices = [index for s, index in found if s == stage]
        if indices != list(range(len(indices))):
            raise ValueError(f"ResNet stage layer{stage} has blocks {indices}; expected 0, 1, ... without gaps")
        blocks.append(len(indices))
    widths = []
    for stage in stages:
        name = f"layer{stage}.0.conv1.weight"
        if np.ndim(params[name]) != 4:
            raise ValueError(f"ResNet parameter {name} must be a 4-D (out, in, 1, 1) conv weight, "
                             f"got shape {tuple(np.shape(params[name]))}")
        widths.append(int(np.shape(params[name])[0]))
    for name in ("layer1.0.conv3.weight", "fc.weight"):
        if name not in params:
            raise ValueError(f"ResNet parameter {name} is missing")
    expansion = int(np.shape(params["layer1.0.conv3.weight"])[0]) // widths[0]
    if np.ndim(params["fc.weight"]) != 2:
        raise ValueError(f"ResNet parameter fc.weight must be 2-D (classes, features), "
                         f"got shape {tuple(np.shape(params['fc.weight']))}")
    spec = ResNetSpec(tuple(blocks), tuple(widths), max(expansion, 1), int(np.shape(params["fc.weight"])[0]))
    for name, shape in param_shapes(spec).items():
        if name not in params:
            raise ValueError(f"ResNet parameter {name} is missing (expected shape {shape})")
        if tuple(np.shape(params[name])) != shape:
            raise ValueError(f"ResNet parameter {name} has shape {tuple(np.shape(params[name]))}, expected {shape}")
    extra = set(params) - set(param_shapes(spec))
    if extra:
        raise ValueError(f"unexpected ResNet parameters: {sorted(extra)}")
    return spec


def init_params(spec: ResNetSpec, seed: int) -> dict[str, np.ndarray]:
    """float64 parameters drawn from ``seed``, initialized as torchvision does.

    Convolutions: Kaiming normal, fan-out mode, ``std = sqrt(2 / (out * R * S))`` (He et al. 2015).
    Batch norm: weight 1, bias 0, running mean 0, running variance 1, ``num_batches_tracked`` 0
    (int64, 0-d). Classifier: ``nn.Linear``'s default, weight and bias uniform in
    ``[-1/sqrt(features), 1/sqrt(features)]``.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    bound = 1.0 / np.sqrt(spec.features)
    for name, shape in param_shapes(spec).items():
        if name.endswith(".num_batches_tracked"):
            params[name] = np.zeros((), dtype=np.int64)
        elif name.endswith((".running_mean", ".bias")) and not name.startswith("fc."):
            params[name] = np.zeros(shape)
        elif name.endswith(".running_var") or (len(shape) == 1 and name.endswith(".weight")):
            params[name] = np.ones(shape)
        elif len(shape) == 4:
            fan_out = shape[0] * shape[2] * shape[3]
            params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_out), size=shape)
        else:  # fc.weight, fc.bias
            params[name] = rng.uniform(-bound, bound, size=shape)
    return params

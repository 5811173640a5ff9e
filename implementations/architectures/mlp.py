"""The multilayer perceptron, described once.

Every backend builds its MLP from an :class:`MLPSpec`. Parameters are a dict of NumPy arrays named
and laid out as the PyTorch ``state_dict`` of the torch model: ``fc1.weight`` (out, in),
``fc1.bias`` (out,), ``fc2.weight``, ... in layer order. The last layer outputs logits; the loss is
mean softmax cross-entropy over the batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .limits import NO_LIMITS, StepLimits
from .verification import VerificationSpec

ACTIVATIONS = ("relu", "sigmoid")


@dataclass(frozen=True)
class MLPSpec:
    """Layer widths ``(in, hidden..., classes)`` and the hidden activation."""

    sizes: tuple[int, ...]
    activation: str = "relu"

    def __post_init__(self) -> None:
        if len(self.sizes) < 2:
            raise ValueError(f"an MLP needs at least an input and an output size, got {self.sizes}")
        for size in self.sizes:
            if int(size) < 1:
                raise ValueError(f"every MLP width must be a positive integer, got {size} in {self.sizes}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {', '.join(ACTIVATIONS)}")

    @property
    def layer_names(self) -> list[str]:
        """``["fc1", "fc2", ...]``: one name per linear layer, in order."""
        return [f"fc{i + 1}" for i in range(len(self.sizes) - 1)]

    @cached_property
    def parameter_keys(self) -> tuple[tuple[str, str], ...]:
        """``(("fc1.weight", "fc1.bias"), ...)``: one pair per linear layer, built once per spec and
        not in every step (a 4-3-2 step lasts tens of microseconds in pure Python, where a string
        formatted, or a spec hashed into a cache, costs a measurable share)."""
        return tuple((f"{name}.weight", f"{name}.bias") for name in self.layer_names)

    @cached_property
    def activation_layers(self) -> tuple[str, str]:
        """``("relu_forward", "relu_backward")``: the names of the hidden activation's layer pair,
        formatted once per spec, not in every step (see ``parameter_keys``)."""
        return f"{self.activation}_forward", f"{self.activation}_backward"

    @property
    def num_classes(self) -> int:
        return self.sizes[-1]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every trainable parameter, in ``state_dict`` order."""
        shapes: dict[str, tuple[int, ...]] = {}
        for name, fan_in, fan_out in zip(self.layer_names, self.sizes[:-1], self.sizes[1:]):
            shapes[f"{name}.weight"] = (fan_out, fan_in)
            shapes[f"{name}.bias"] = (fan_out,)
        return shapes

    def param_count(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.param_shapes().values())


def trainable_names(spec: MLPSpec) -> list[str]:
    """Every parameter is trained; the MLP has no buffers."""
    return list(spec.param_shapes())


def weight_decay_names(spec: MLPSpec) -> set[str]:
    """The MLP step uses no weight decay."""
    return set()


def default_sgd():
    from ..trainer import SGDConfig  # noqa: PLC0415  (avoids a cycle at import time)

    return SGDConfig(lr=0.01, momentum=0.9, weight_decay=0.0)


def validate_batch(spec: MLPSpec, x: np.ndarray, y: np.ndarray) -> None:
    """Raise ValueError naming the problem unless x is (N, in) and y is N labels in [0, classes)."""
    if np.ndim(x) != 2 or x.shape[1] != spec.sizes[0]:
        raise ValueError(f"MLP input x must have shape (N, {spec.sizes[0]}), got {tuple(np.shape(x))}")
    if np.ndim(y) != 1 or len(y) != x.shape[0]:
        raise ValueError(f"labels y must have shape ({x.shape[0]},), got {tuple(np.shape(y))}")
    if x.shape[0] < 1:
        raise ValueError("the batch is empty")
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        raise ValueError(f"labels y must be integers, got dtype {np.asarray(y).dtype}")
    if np.any(y < 0) or np.any(y >= spec.num_classes):
        raise ValueError(f"labels must lie in [0, {spec.num_classes}), got min {int(np.min(y))} max {int(np.max(y))}")


_LAYER_KEY = re.compile(r"^fc(\d+)\.(weight|bias)$")


def spec_from_params(params: dict[str, np.ndarray], activation: str = "relu") -> MLPSpec:
    """Read the layer sizes from ``params`` and check every tensor is present and well shaped."""
    indices = sorted({int(m.group(1)) for key in params if (m := _LAYER_KEY.match(key))})
    if not indices or indices != list(range(1, len(indices) + 1)):
        raise ValueError(
            f"MLP parameters must be named fc1.weight, fc1.bias, fc2.weight, ...; got {sorted(params)}"
        )
    first = params.get("fc1.weight")
    if first is None or np.ndim(first) != 2:
        raise ValueError("MLP parameter fc1.weight is missing or not a 2-D (out, in) matrix")
    sizes = [int(first.shape[1])]
    for i in indices:
        weight = params.get(f"fc{i}.weight")
        if weight is None or np.ndim(weight) != 2:
            raise ValueError(f"MLP parameter fc{i}.weight is missing or not a 2-D (out, in) matrix")
        sizes.append(int(weight.shape[0]))
    spec = MLPSpec(tuple(sizes), activation)
    for key, shape in spec.param_shapes().items():
        if key not in params:
            raise ValueError(f"MLP parameter {key} is missing (expected shape {shape})")
        if tuple(np.shape(params[key])) != shape:
            raise ValueError(f"MLP parameter {key} has shape {tuple(np.shape(params[key]))}, expected {shape}")
    extra = set(params) - set(spec.param_shapes())
    if extra:
        raise ValueError(f"unexpected MLP parameters: {sorted(extra)}")
    return spec


def init_params(spec: MLPSpec, seed: int) -> dict[str, np.ndarray]:
    """float64 weights drawn from ``seed``: He normal for relu, Xavier (Glorot) normal for sigmoid.

    Biases start at zero. Every backend starts from these same numbers.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for name, fan_in, fan_out in zip(spec.layer_names, spec.sizes[:-1], spec.sizes[1:]):
        if spec.activation == "relu":
            std = np.sqrt(2.0 / fan_in)  # He et al. 2015: keeps the variance of relu activations
        else:
            std = np.sqrt(2.0 / (fan_in + fan_out))  # Glorot & Bengio 2010
        params[f"{name}.weight"] = rng.normal(0.0, std, size=(fan_out, fan_in))
        params[f"{name}.bias"] = np.zeros(fan_out)
    return params


def make_batch(spec: MLPSpec, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random batch: ``x`` (N, in) float64 standard normal, ``y`` (N,) int64 labels in [0, classes)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, spec.sizes[0]))
    y = rng.integers(0, spec.num_classes, size=batch_size)
    return x, y


def step_flops(spec: MLPSpec, batch_size: int) -> int:
    """Analytic FLOPs of one training step, one per multiply and one per add.

    Forward: a linear layer costs 2*N*in*out (the products and their sums) + N*out (bias); the
    activation N*out. Loss: softmax and cross-entropy, about 5*N*classes. Backward: the weight
    gradient 2*N*in*out, the bias gradient N*out, the input gradient 2*N*in*out for every layer
    but the first (its input needs no gradient), the activation's N*out. Update, SGD with
    momentum: v = mu*v + g (2 per parameter), p -= lr*v (2 per parameter).
    """
    n = batch_size
    flops = 0
    layers = list(zip(spec.sizes[:-1], spec.sizes[1:]))
    for index, (fan_in, fan_out) in enumerate(layers):
        matmul = 2 * n * fan_in * fan_out
        flops += matmul + n * fan_out  # forward
        flops += matmul + n * fan_out  # weight and bias gradients
        if index > 0:
            flops += matmul  # input gradient
        if index < len(layers) - 1:
            flops += 2 * n * fan_out  # activation forward and backward
    flops += 5 * n * spec.num_classes  # softmax cross-entropy and its gradient
    flops += 4 * spec.param_count()  # SGD with momentum
    return flops


def step_macs(spec: MLPSpec, batch_size: int) -> int:
    """Multiply-adds in the matrix products of one step (forward, weight and input gradients)."""
    macs = 0
    for index, (fan_in, fan_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
        macs += (3 if index > 0 else 2) * batch_size * fan_in * fan_out
    return macs


# Bytes per stored value of the pure-Python loops: a float in a list costs about 32 (a float object
# plus a pointer) while a layer runs, 40 with the rest of its bookkeeping.
LOOPS_BYTES_PER_VALUE = 40


def host_bytes(spec: MLPSpec, batch_size: int, value_bytes: int, *, loops: bool, on_gpu: bool = False) -> int:
    """A generous estimate of the host memory one training step needs, in bytes: the case's own
    parameters, gradients, velocity (and a copy) in ``value_bytes`` per value (8 float64, 4 float32;
    ``loops``: boxed floats), its activations, and the float64 reference's parameters, gradients
    and activations. The same on a GPU (its host keeps the reference). Python ints: never overflows."""
    params = sum(a * b + b for a, b in zip(spec.sizes[:-1], spec.sizes[1:]))
    activations = batch_size * sum(spec.sizes) * 4
    per_value = LOOPS_BYTES_PER_VALUE if loops else value_bytes
    return per_value * (4 * params + activations) + 8 * (2 * params + activations)


def step_limits(spec: MLPSpec, batch_size: int) -> StepLimits:
    """Every MLP the suite runs is measured on every backend in every dtype: its slowest loops step
    (mlp-wide, most of a minute) is timed once rather than left out (the suite's ``verify_timed_round``)."""
    return NO_LIMITS


def forward_backward(layers, spec: MLPSpec, params, x, y):
    """One forward and backward pass composed from a backend's ``layers`` module.

    ``layers`` provides ``linear_forward/backward``, ``relu_forward/backward``,
    ``sigmoid_forward/backward`` and ``softmax_cross_entropy``, each working on that backend's own
    representation of arrays. Returns ``(loss, grads)`` with grads keyed like ``params``.
    """
    forward_name, backward_name = spec.activation_layers
    act_forward, act_backward = getattr(layers, forward_name), getattr(layers, backward_name)
    keys = spec.parameter_keys
    last = len(keys) - 1
    caches = []
    h = x
    for index, (weight, bias) in enumerate(keys):
        h, linear_cache = layers.linear_forward(h, params[weight], params[bias])
        act_cache = None
        if index < last:
            h, act_cache = act_forward(h)
        caches.append((linear_cache, act_cache))
    loss, dh = layers.softmax_cross_entropy(h, y)
    grads = {}
    for index in range(last, -1, -1):
        weight, bias = keys[index]
        linear_cache, act_cache = caches[index]
        if act_cache is not None:
            dh = act_backward(dh, act_cache)
        # need_dx by position: in CPython 3.11 a keyword argument takes the generic call path, and
        # a mlp-tiny step is mostly calls (studies/loops_footprint.py)
        dh, grads[weight], grads[bias] = layers.linear_backward(dh, linear_cache, index > 0)
    return loss, grads


# -- how its step is verified (bench/verify.py) ------------------------------------------------------
# Bounds (implementations/architectures/verification.py says why the low precisions' are loose).
# Measured on an H100 (studies/gpu_verification_errors.py; 2-3 seeds of mlp-mnist, mlp-wide and
# mlp-width-2048: results/gpu-errors/nvidia-h100-80gb-hbm3.csv.gz): bfloat16 largest 0.065 (mlp-wide
# fc1.weight), median tensor 0.006, loss 6.22e-4; the bound keeps 0.2 (3x; CPU autocast gave the
# same 0.065), the loss's about 4x. tf32 (3e-2) is not exercised by default, as PyTorch keeps TF32
# off for matmuls. The confirming float64 implementation runs on the whole batch.
VERIFICATION = VerificationSpec(
    tolerances={"float64": 1e-8, "float32": 1e-4, "tf32": 3e-2, "bfloat16": 0.2},
    kind_tolerances={"bfloat16": {"loss": 2.5e-3}},
)

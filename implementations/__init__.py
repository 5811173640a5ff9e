"""Parallel implementations of one neural-network training step in four backends.

``loops`` (pure Python), ``numpy`` (vectorized), ``torch-cpu`` and ``torch-cuda`` (PyTorch autograd)
all build their models from one architecture description per model and compute the same numbers
from the same weights.
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from .models import MODELS, architecture
from .trainer import HandwrittenTrainer, SGDConfig, Trainer

BACKENDS = ("loops", "numpy", "torch-cpu", "torch-cuda")

_HANDWRITTEN_KITS = {
    "loops": "implementations.pure_python.backend",
    "numpy": "implementations.numpy_vectorized.backend",
}
_TORCH_DEVICES = {"torch-cpu": "cpu", "torch-cuda": "cuda"}


def backend_dtypes(backend: str) -> tuple[str, ...]:
    """The float dtypes a backend runs in."""
    check_backend(backend)
    if backend in _HANDWRITTEN_KITS:
        return import_module(_HANDWRITTEN_KITS[backend]).DTYPES
    return ("float32", "float64")


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")


def make_trainer(backend: str, model: str, spec, params: dict[str, np.ndarray], dtype: str = "float64",
                 sgd: SGDConfig | None = None) -> Trainer:
    """A trainer of ``model`` (built from ``spec``) on ``backend``, starting from ``params``.

    Raises ValueError for an unknown backend, model or dtype, and RuntimeError for ``torch-cuda``
    where no GPU is available.
    """
    check_backend(backend)
    arch = architecture(model)
    sgd = sgd or arch.default_sgd()
    if backend in _HANDWRITTEN_KITS:
        kit = import_module(_HANDWRITTEN_KITS[backend])
        return HandwrittenTrainer(kit, arch, spec, params, dtype, sgd)
    from .models import torch_module_builder  # noqa: PLC0415
    from .torch_autograd.trainer import TorchTrainer  # noqa: PLC0415  (torch loads only when asked for)

    module = torch_module_builder(model)(spec)
    return TorchTrainer(module, backend, params, dtype, _TORCH_DEVICES[backend], sgd, arch.weight_decay_names(spec))


def loss_and_grads(backend: str, model: str, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
    """Loss and gradients of one forward/backward pass, without an update.

    ``model``: ``"mlp"`` (sizes read from ``params``, hidden activation relu) or ``"resnet50"``
    (blocks and classes read from ``params``, torchvision ``state_dict`` names). ``x``: (N, features)
    for the MLP, (N, 3, H, W) with H, W >= 32 for resnet50; ``y``: (N,) int labels. For resnet50
    the forward runs in training mode (batch statistics), as in a training step. The float dtype
    follows ``x`` where the backend supports it (``loops`` is always float64). Returns ``(loss, grads)`` with grads keyed like the trainable
    parameters, as NumPy arrays.
    """
    check_backend(backend)
    arch = architecture(model)
    spec = arch.spec_from_params(params)
    x = np.asarray(x)
    dtypes = backend_dtypes(backend)
    dtype = str(x.dtype) if str(x.dtype) in dtypes else "float64"
    trainer = make_trainer(backend, model, spec, params, dtype)
    return trainer.loss_and_grads(trainer.prepare_batch(x, y))


__all__ = ["BACKENDS", "MODELS", "SGDConfig", "Trainer", "architecture", "backend_dtypes", "check_backend",
           "loss_and_grads", "make_trainer"]

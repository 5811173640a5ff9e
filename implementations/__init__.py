"""Parallel implementations of one neural-network training step in several backends.

``loops`` (pure Python), ``numpy`` (vectorized), ``torch-cpu`` and ``torch-cuda`` (PyTorch autograd)
all build their models from one architecture description per model and compute the same numbers
from the same weights. ``torch-cuda-amp`` (bfloat16 autocast, channels_last) and
``torch-cuda-compile`` (the same through ``torch.compile``) are the same torch trainer with other
options (``torch_autograd.variant``), float32 master weights.
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from .models import MODELS, architecture
from .torch_autograd.variant import TORCH_BACKENDS
from .trainer import HandwrittenTrainer, SGDConfig, Trainer

BACKENDS = ("loops", "numpy", "torch-cpu", "torch-cuda", "torch-cuda-amp", "torch-cuda-compile")

_HANDWRITTEN_KITS = {
    "loops": "implementations.pure_python.backend",
    "numpy": "implementations.numpy_vectorized.backend",
}
# backends that need a CUDA GPU: skipped with the reason where there is none
CUDA_BACKENDS = tuple(b for b, (device, _) in TORCH_BACKENDS.items() if device == "cuda")


def backend_dtypes(backend: str) -> tuple[str, ...]:
    """The float dtypes a backend runs in."""
    check_backend(backend)
    if backend in _HANDWRITTEN_KITS:
        return import_module(_HANDWRITTEN_KITS[backend]).DTYPES
    return TORCH_BACKENDS[backend][1].dtypes


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")


def make_trainer(backend: str, model: str, spec, params: dict[str, np.ndarray], dtype: str = "float64",
                 sgd: SGDConfig | None = None, device: str | None = None) -> Trainer:
    """A trainer of ``model`` (built from ``spec``) on ``backend``, starting from ``params``.

    ``device`` overrides a torch backend's device (``"cpu"``: the GPU rungs' exact code on the CPU,
    for tests); None keeps the backend's own. Raises ValueError for an unknown backend, model or
    dtype, or a device given to a backend that is not torch, and RuntimeError for a CUDA backend
    where no GPU is available.
    """
    check_backend(backend)
    arch = architecture(model)
    sgd = sgd or arch.default_sgd()
    if backend in _HANDWRITTEN_KITS:
        if device is not None:
            raise ValueError(f"backend {backend} runs on the CPU only; device applies to torch backends")
        kit = import_module(_HANDWRITTEN_KITS[backend])
        return HandwrittenTrainer(kit, arch, spec, params, dtype, sgd)
    from .models import torch_module_builder  # noqa: PLC0415
    from .torch_autograd.trainer import TorchTrainer  # noqa: PLC0415  (torch loads only when asked for)

    own_device, variant = TORCH_BACKENDS[backend]
    module = torch_module_builder(model)(spec)
    return TorchTrainer(module, backend, params, dtype, device or own_device, sgd, arch.weight_decay_names(spec),
                        variant)


def is_cuda_backend(backend: str) -> bool:
    """Whether ``backend`` runs on a CUDA GPU (and is skipped where there is none)."""
    return backend in CUDA_BACKENDS


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
    dtype = str(x.dtype) if str(x.dtype) in dtypes else ("float64" if "float64" in dtypes else dtypes[0])
    trainer = make_trainer(backend, model, spec, params, dtype)
    return trainer.loss_and_grads(trainer.prepare_batch(x, y))


__all__ = ["BACKENDS", "CUDA_BACKENDS", "MODELS", "SGDConfig", "Trainer", "architecture", "backend_dtypes",
           "check_backend", "is_cuda_backend", "loss_and_grads", "make_trainer"]

"""Parallel implementations of one neural-network training step in several backends.

``loops`` (pure Python), ``numba`` (the same loops compiled), ``numpy`` (vectorized), ``torch-cpu``
and ``torch-cuda`` (PyTorch autograd) all build their models from one architecture description per model and compute the same numbers
from the same weights. ``torch-cuda-amp`` (bfloat16 autocast, channels_last) and
``torch-cuda-compile`` (the same through ``torch.compile``) are the same torch trainer with other
options (``torch_autograd.variant``), float32 master weights; ``torch-cuda-graphs`` is the compiled
step captured whole in a CUDA graph and replayed (``torch_autograd.captured``).
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from .models import MODELS, architecture
from .numpy_vectorized.peak import peak_target as numpy_peak
from .registry import (COMPILED_LOOPS, CONFIRMATION, FRAMEWORK, LOOP_BASELINE, ORACLE, VECTORIZED, Backend, LadderRung,
                       PeakKernels, backend_names, get_backend, register)
from .torch_autograd.peak import peak_target as torch_peak
from .torch_autograd.variant import TORCH_BACKENDS, TorchVariant
from .trainer import CaseUnsupported, HandwrittenTrainer, SGDConfig, Trainer

# name -> the package holding the backend's kit (``backend``: its layers and array conversions),
# in ladder order: pure Python, compiled loops, vectorized. The package itself names the dtypes,
# whether its step is one thread by construction (``SINGLE_THREADED``: timed at 1 thread only) and
# why the backend cannot run here (``unavailable``, where it has one) without importing the kit, so
# that numba is imported only when a numba trainer is built.
_HANDWRITTEN = {
    "loops": "implementations.pure_python",
    "numba": "implementations.compiled_loops",
    "numpy": "implementations.numpy_vectorized",
}
# How each built-in backend describes itself to the report (registry.Backend: role, order, colour,
# ladder rungs). The ladder: loops float64 1 thread -> numba float64 1 thread (compilation) [->
# numba float32 all cores, a side rung] -> numpy float64 1 thread (vectorization and BLAS) -> numpy
# float32 1 thread (precision) -> numpy float32 all cores (threads) -> torch-cpu float32 all cores
# (library) [-> torch-ddp float32 a process per core, a side rung: processes for threads] -> torch-cuda float32 (GPU) -> the GPU rungs above it, where measured. The machine's
# peaks (``peak``): numpy's BLAS products on the CPU in both dtypes; torch-cuda's products on the
# GPU in float32 with TF32 off and on and in bfloat16, and a 1 GiB float32 copy.
_DESCRIPTIONS = {
    "loops": dict(role=LOOP_BASELINE, order=0, colour="#7f7f7f",
                  rungs=(LadderRung("float64", "one", "baseline: pure-Python loops"),)),
    "numba": dict(role=COMPILED_LOOPS, order=10, colour="#9467bd",
                  rungs=(LadderRung("float64", "one", "compilation (the loops, numba)"),
                         LadderRung("float32", "all", "float32 and every core (prange)", side=True))),
    "numpy": dict(role=VECTORIZED, order=20, colour="#1f77b4", verifies=CONFIRMATION,
                  peak=PeakKernels(numpy_peak, ("float32", "float64")),
                  rungs=(LadderRung("float64", "one", "vectorization and BLAS"),
                         LadderRung("float32", "one", "precision"), LadderRung("float32", "all", "threads"))),
    "torch-cpu": dict(role=FRAMEWORK, order=30, colour="#ff7f0e", verifies=ORACLE,
                      rungs=(LadderRung("float32", "all", "library"),)),
    "torch-ddp": dict(role=FRAMEWORK, order=35, colour="#d62728", rungs=(
        LadderRung("float32", "processes", "data parallelism: the cores as processes, not threads", side=True,
                   when_measured=True),)),
    "torch-cuda": dict(role=FRAMEWORK, order=40, colour="#2ca02c", rungs=(LadderRung("float32", "any", "GPU"),),
                       peak=PeakKernels(torch_peak, ("float32", "bfloat16"), tf32=True, copy_dtype="float32")),
    "torch-ddp-cuda": dict(role=FRAMEWORK, order=45, colour="#98df8a", rungs=(
        LadderRung("float32", "any", "DistributedDataParallel, NCCL (one process per GPU)", side=True,
                   when_measured=True),)),
    "torch-cuda-amp": dict(role=FRAMEWORK, order=50, colour="#006d2c", rungs=(
        LadderRung("float32", "any", "bfloat16 autocast, channels_last", when_measured=True),)),
    "torch-cuda-compile": dict(role=FRAMEWORK, order=60, colour="#74c476", rungs=(
        LadderRung("float32", "any", "torch.compile", when_measured=True),)),
    "torch-cuda-graphs": dict(role=FRAMEWORK, order=70, colour="#00441b", rungs=(
        LadderRung("float32", "any", "whole step in one CUDA graph, fused SGD", when_measured=True),)),
}


def _handwritten(name: str, package_name: str) -> Backend:
    package = import_module(package_name)

    def build(model, spec, params, dtype, sgd, device=None):
        if device is not None:
            raise ValueError(f"backend {name} runs on the CPU only; device applies to torch backends")
        kit = import_module(f"{package_name}.backend")
        return HandwrittenTrainer(kit, architecture(model), spec, params, dtype, sgd)

    unavailable = getattr(package, "unavailable", None)
    return Backend(name, "cpu", package.DTYPES, build, single_threaded=getattr(package, "SINGLE_THREADED", False),
                   family="handwritten", **({"unavailable": unavailable} if unavailable else {}), **_DESCRIPTIONS[name])


def _cuda_unavailable() -> str | None:
    from .torch_autograd.trainer import cuda_unavailable_reason  # noqa: PLC0415  (imports torch)

    return cuda_unavailable_reason()


def _torch_run_flags(dtype: str, cudnn_benchmark: bool) -> dict:
    """The TF32 and cuDNN flags a torch case runs under on a GPU (``Backend.run_flags``)."""
    from .torch_autograd.trainer import tf32_flags  # noqa: PLC0415

    return dict(tf32_flags("cuda", dtype), cudnn_benchmark=cudnn_benchmark)


def _torch(name: str, own_device: str, variant: TorchVariant) -> Backend:
    def build(model, spec, params, dtype, sgd, device=None):
        from .models import torch_module_builder  # noqa: PLC0415
        if variant.cuda_graph:
            from .torch_autograd.captured import CapturedTorchTrainer as TorchTrainer  # noqa: PLC0415
        else:
            from .torch_autograd.trainer import TorchTrainer  # noqa: PLC0415  (torch loads only when asked for)

        return TorchTrainer(torch_module_builder(model)(spec), name, params, dtype, device or own_device, sgd,
                            architecture(model).weight_decay_names(spec), variant)

    def run_flags(dtype: str) -> dict:
        return _torch_run_flags(dtype, variant.cudnn_benchmark)

    if own_device == "cuda":
        return Backend(name, "cuda", variant.dtypes, build, _cuda_unavailable, variant.amp_dtype, run_flags,
                       family="torch", **_DESCRIPTIONS[name])
    return Backend(name, own_device, variant.dtypes, build, amp_dtype=variant.amp_dtype, family="torch",
                   **_DESCRIPTIONS[name])


def _data_parallel(name: str, own_device: str) -> Backend:
    """The torch step across processes (``implementations.data_parallel``), on the CPU over gloo or
    on a GPU per process over NCCL: its ``build`` runs in a rank, its ``launch`` in the harness."""
    def build(model, spec, params, dtype, sgd, device=None):
        import os  # noqa: PLC0415

        from .data_parallel.trainer import DataParallelTrainer  # noqa: PLC0415  (torch loads only when asked for)
        from .models import torch_module_builder  # noqa: PLC0415

        if device is None:  # the rank's own: its local rank's GPU, or the CPU
            device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if own_device == "cuda" else "cpu"
        return DataParallelTrainer(torch_module_builder(model)(spec), name, params, dtype, sgd,
                                   architecture(model).weight_decay_names(spec), device)

    def launch(job, placement):
        from dataclasses import replace  # noqa: PLC0415

        from .data_parallel.group import WorkerGroup  # noqa: PLC0415

        return WorkerGroup(replace(job, device=own_device), placement)

    if own_device == "cuda":
        return Backend(name, "cuda", TorchVariant().dtypes, build, _cuda_unavailable, family="torch", launch=launch,
                       run_flags=lambda dtype: _torch_run_flags(dtype, TorchVariant().cudnn_benchmark), **_DESCRIPTIONS[name])
    return Backend(name, "cpu", TorchVariant().dtypes, build, family="torch", launch=launch, **_DESCRIPTIONS[name])


_BUILT_IN = [_handwritten(name, package) for name, package in _HANDWRITTEN.items()]
_BUILT_IN += [_torch(name, device, variant) for name, (device, variant) in TORCH_BACKENDS.items()]
_BUILT_IN.insert(4, _data_parallel("torch-ddp", "cpu"))  # after torch-cpu: the ladder's order
_BUILT_IN.insert(6, _data_parallel("torch-ddp-cuda", "cuda"))  # after torch-cuda
for _backend in _BUILT_IN:
    register(_backend)

# The built-in backends, in ladder order; plug-ins add theirs to ``backend_names()``.
BACKENDS = tuple(b.name for b in _BUILT_IN)
# built-in backends that need a CUDA GPU: skipped with the reason where there is none
CUDA_BACKENDS = tuple(b.name for b in _BUILT_IN if b.device == "cuda")


def backend_dtypes(backend: str) -> tuple[str, ...]:
    """The float dtypes a backend runs in."""
    return get_backend(backend).dtypes


def check_backend(backend: str) -> None:
    get_backend(backend)


def make_trainer(backend: str, model: str, spec, params: dict[str, np.ndarray], dtype: str = "float64",
                 sgd: SGDConfig | None = None, device: str | None = None) -> Trainer:
    """A trainer of ``model`` (built from ``spec``) on ``backend``, starting from ``params``.

    ``device`` overrides a torch backend's device (``"cpu"``: the GPU rungs' exact code on the CPU,
    for tests); None keeps the backend's own. Raises ValueError for an unknown backend, model or
    dtype, or a device given to a backend that is not torch, and RuntimeError for a CUDA backend
    where no GPU is available.
    """
    chosen = get_backend(backend)
    arch = architecture(model)
    return chosen.build(model, spec, params, dtype, sgd or arch.default_sgd(), device)


def is_cuda_backend(backend: str) -> bool:
    """Whether ``backend`` runs on a CUDA GPU (and is skipped where there is none)."""
    return get_backend(backend).device == "cuda"


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


__all__ = ["BACKENDS", "CUDA_BACKENDS", "MODELS", "Backend", "CaseUnsupported", "SGDConfig", "Trainer", "architecture", "backend_dtypes",
           "backend_names", "check_backend", "get_backend", "is_cuda_backend", "loss_and_grads", "make_trainer",
           "register"]

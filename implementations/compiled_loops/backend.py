"""How the numba backend converts arrays at its boundary (never inside the timed step), and compiles.

Importing this module imports numba: ``implementations/__init__.py`` imports it only when a numba
trainer is built, after :func:`unavailable` said numba is installed.
"""

from __future__ import annotations

import numpy as np

from . import DTYPES, NAME, layers
from .jit import compile_kernels


def compile(dtype: str) -> float:  # noqa: A001  (the kit's hook: HandwrittenTrainer calls kit.compile)
    """Compile every kernel for ``dtype`` (or load it from numba's disk cache); returns seconds."""
    return compile_kernels(dtype)


def to_native(values, dtype: str) -> np.ndarray:
    return np.array(values, dtype=dtype, order="C", copy=True)


def labels_to_native(labels) -> np.ndarray:
    return np.ascontiguousarray(labels, dtype=np.int64)


def to_numpy(values: np.ndarray) -> np.ndarray:
    return np.array(values, copy=True)


def zeros_like(values: np.ndarray) -> np.ndarray:
    return np.zeros(values.shape, dtype=values.dtype)  # C-contiguous, as the kernels take them


__all__ = ["NAME", "DTYPES", "compile", "layers", "to_native", "labels_to_native", "to_numpy", "zeros_like"]

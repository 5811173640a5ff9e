"""Centred finite differences and relative errors, for checking any backend's hand-written gradients.

The functions work on float64 NumPy arrays, so one helper serves every backend: a loops layer is
wrapped with ``tensor.from_numpy`` / ``tensor.to_numpy`` (see ``flat_function``), a NumPy layer is
used as it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(actual, expected) -> float:
    """``||actual - expected|| / ||expected||`` (Frobenius norms); ``||actual||`` when expected is all zero."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"rel_error: shapes differ, {actual.shape} and {expected.shape}")
    scale = np.linalg.norm(expected)
    difference = np.linalg.norm(actual - expected)
    return float(difference / scale) if scale > 0 else float(difference)


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout, step: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x`` by centred differences.

    f: maps a float64 array shaped like x to an array shaped like dout (or a float, with dout 1.0).
    Each entry costs two calls of f, with that entry moved by +step and -step; the truncation error
    is O(step**2) and the rounding error O(eps / step), both near 1e-10 relative for step = 1e-5.
    x is not modified. Returns an array shaped like x.
    """
    x = np.array(x, dtype=np.float64)  # a private copy: entries are moved in place
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    flat_x = x.reshape(-1)
    flat_grad = grad.reshape(-1)
    for index in range(flat_x.size):
        original = flat_x[index]
        flat_x[index] = original + step
        above = np.sum(np.asarray(f(x), dtype=np.float64) * dout)
        flat_x[index] = original - step
        below = np.sum(np.asarray(f(x), dtype=np.float64) * dout)
        flat_x[index] = original
        flat_grad[index] = (above - below) / (2.0 * step)
    return grad


def flat_function(layer_output: Callable, *, to_native: Callable, to_numpy: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap ``layer_output(native_array) -> native_array`` as a function of NumPy arrays.

    For the loops backend pass ``to_native=tensor.from_numpy, to_numpy=tensor.to_numpy``.
    """
    return lambda values: to_numpy(layer_output(to_native(values)))

"""Elementwise operations on FlatTensors of any shape."""

from __future__ import annotations

from array import array
from operator import add as _add_floats

from ..tensor import FlatTensor


def add(a: FlatTensor, b: FlatTensor) -> FlatTensor:
    """``a + b`` for two tensors of one shape: the residual connection, and the sum of the
    gradients of a tensor used by two branches (its gradient has no backward of its own: it passes
    ``dout`` unchanged to both inputs)."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"add: shapes differ, {a.shape} and {b.shape}")
    return FlatTensor(array("d", map(_add_floats, a.data, b.data)), a.shape)

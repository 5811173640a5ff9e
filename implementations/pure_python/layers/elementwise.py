"""Elementwise operations on FlatTensors of any shape."""

from __future__ import annotations

from array import array
from operator import add as _add_floats

from ..tensor import FlatTensor


def add(a: FlatTensor, b: FlatTensor) -> FlatTensor:
    """``a + b`` for two tensors of one shape (any shape).

    Used for the residual connection, and in the backward to sum the gradients of a tensor that
    feeds two branches. It needs no backward function: its gradient is ``dout`` for both inputs.
    """
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"add: shapes differ, {a.shape} and {b.shape}")
    return FlatTensor(array("d", map(_add_floats, a.data, b.data)), a.shape)

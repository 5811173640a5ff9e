"""How the loops backend converts arrays at its boundary (never inside the timed step)."""

from __future__ import annotations

from array import array

from . import layers
from .tensor import FlatTensor, from_numpy, to_numpy

NAME = "loops"
DTYPES = ("float64",)  # Python floats are doubles


def to_native(values, dtype: str) -> FlatTensor:
    return from_numpy(values)


def labels_to_native(labels) -> list[int]:
    return [int(v) for v in labels]


def zeros_like(tensor: FlatTensor) -> FlatTensor:
    return FlatTensor(array("d", bytes(8 * len(tensor.data))), tensor.shape)


__all__ = ["NAME", "DTYPES", "layers", "to_native", "labels_to_native", "to_numpy", "zeros_like"]

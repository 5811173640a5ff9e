"""How the loops backend converts arrays at its boundary (never inside the timed step)."""

from __future__ import annotations

from . import DTYPES, NAME, layers
from .tensor import FlatTensor, RowsTensor, from_numpy, to_numpy, zeros_like


def to_native(values, dtype: str) -> FlatTensor | RowsTensor:
    return from_numpy(values)


def labels_to_native(labels) -> list[int]:
    return [int(v) for v in labels]


__all__ = ["NAME", "DTYPES", "layers", "to_native", "labels_to_native", "to_numpy", "zeros_like"]

"""How the loops backend converts arrays at its boundary (never inside the timed step)."""

from __future__ import annotations

from . import DTYPES, NAME, layers
from .tensor import FlatTensor, RowsTensor, from_numpy, shape_of, to_numpy, zeros_like


def to_native(values, dtype: str) -> FlatTensor | RowsTensor:
    return from_numpy(values)


def gradient_to_numpy(grad, param):
    """A gradient as a NumPy array. A 1-D parameter is held as one row, and the dense layers return
    a bias's gradient as one row too: that comes back 1-D. Any other shape comes back as the layers
    gave it, so that a wrongly shaped gradient still fails the checks on shapes."""
    value = to_numpy(grad)
    shape = shape_of(param)
    return value.reshape(shape) if len(shape) == 1 and value.shape == (1, *shape) else value


def labels_to_native(labels) -> list[int]:
    return [int(v) for v in labels]


__all__ = ["NAME", "DTYPES", "layers", "to_native", "gradient_to_numpy", "labels_to_native", "to_numpy", "zeros_like"]

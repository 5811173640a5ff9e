"""The loops backend's array: float64 values and their shape, held one of two ways.

- **Flat**: one row-major ``array('d')`` (``data``). 8 bytes a number against about 32 for a list
  of boxed floats: what lets a ResNet-50 step at 224x224 fit in memory in pure Python. Every
  tensor of more than two dimensions is flat (feature maps, convolution weights), and what the
  layers compute from them (batch norm's statistics and gradients, pooled outputs).
- **Rows**: a list of rows, each a list of floats, for the tensors the dense layers pass to each
  other (activations, their gradients, weights, biases and their velocity; a 1-D tensor is one
  row). Their loops iterate rows of boxed floats; holding them as rows spares a conversion at
  every layer boundary, which is most of a small network's step (mlp-tiny: measured in
  studies/loops_floor.py), and the SGD update indexes a list faster than an ``array('d')``.

Whichever way a tensor is held is the only copy: ``data`` of a rows tensor, and ``rows()`` of a
flat one, build a new copy on every call, so an in-place update (the SGD step) of the one copy can
never leave a stale other behind. Code that updates a tensor in place uses ``is_rows`` to pick.
The dense layers read ``held_rows`` (an attribute, not a call: at mlp-tiny a step makes about 30 of
these reads, and a method call each was about 4% of the step) and fall back on ``rows()`` when it
is None: ``t.held_rows or t.rows()`` (a tensor held as rows has at least one row, so the list is
never empty).
"""

from __future__ import annotations

from array import array
from math import prod


class FlatTensor:
    """float64 values of ``shape``, flat (``data``: row-major, ``prod(shape) == len(data)``) or as
    rows (``rows``: over the last axis; 1-D or 2-D only)."""

    __slots__ = ("_data", "held_rows", "shape")

    def __init__(self, data: array | None, shape: tuple[int, ...], rows: list[list[float]] | None = None):
        """Flat from ``data``, or, with ``data`` None, held as ``rows`` (not copied)."""
        self._data = data
        self.held_rows = rows  # the tensor's rows when it is held as rows (not a copy); None when flat
        self.shape = shape if type(shape) is tuple else tuple(shape)

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> FlatTensor:
        return cls(array("d", bytes(8 * prod(shape))), tuple(shape))

    @property
    def is_rows(self) -> bool:
        return self.held_rows is not None

    @property
    def data(self) -> array:
        """The values flat, row-major: the tensor itself when flat, a new copy when held as rows."""
        if self.held_rows is None:
            return self._data
        flat = array("d")
        for row in self.held_rows:
            flat.extend(row)
        return flat

    def rows(self) -> list[list[float]]:
        """The tensor as a list of rows (lists of floats) over its last axis: the tensor itself when
        held as rows, a new copy when flat.

        Iterating a list of already-boxed floats is faster than iterating an ``array('d')``, which
        boxes every element it yields, so hot loops take the rows once and reuse them.
        """
        if self.held_rows is not None:
            return self.held_rows
        width = self.shape[-1]
        data = self._data
        return [data[start:start + width].tolist() for start in range(0, len(data), width)]

    def __eq__(self, other) -> bool:
        return isinstance(other, FlatTensor) and self.shape == other.shape and self.data == other.data

    def __repr__(self) -> str:
        return f"FlatTensor(shape={self.shape}, {'rows' if self.is_rows else 'flat'})"


def zeros_like(tensor: FlatTensor) -> FlatTensor:
    """Zeros of ``tensor``'s shape, held the same way."""
    if tensor.is_rows:
        return FlatTensor(None, tensor.shape, [[0.0] * len(row) for row in tensor.rows()])
    return FlatTensor.zeros(tensor.shape)


def from_numpy(values) -> FlatTensor:
    """Copy a NumPy array (any float dtype) into a float64 FlatTensor: a 1-D or 2-D array as rows
    (what the dense layers iterate and the update indexes), any other flat. Boundary only, never
    timed."""
    import numpy as np  # noqa: PLC0415  (only at the boundary, outside the timed code)

    contiguous = np.ascontiguousarray(values, dtype=np.float64)
    if contiguous.ndim == 1:
        return FlatTensor(None, contiguous.shape, [contiguous.tolist()])
    if contiguous.ndim == 2:
        return FlatTensor(None, contiguous.shape, contiguous.tolist())
    return FlatTensor(array("d", contiguous.tobytes()), tuple(contiguous.shape))


def to_numpy(tensor: FlatTensor):
    """Copy a FlatTensor back into a float64 NumPy array of its shape."""
    import numpy as np  # noqa: PLC0415

    return np.frombuffer(tensor.data.tobytes(), dtype=np.float64).reshape(tensor.shape).copy()

"""The loops backend's arrays: float64 values and their shape, of two kinds.

- **FlatTensor**: one row-major ``array('d')`` (``data``). 8 bytes a number against about 32 for
  a list of boxed floats: what lets a ResNet-50 step at 224x224 fit in memory in pure Python. Every
  tensor of more than two dimensions is flat (feature maps, convolution weights), and what the
  layers compute from them (batch norm's statistics and gradients, pooled outputs).
- **RowsTensor**: a list of rows, each a list of floats, for the tensors the dense layers pass to
  each other (activations, their gradients, weights, biases and their velocity; a 1-D tensor is
  one row). The tensor *is* that list: a layer iterates it with no attribute read or call, and
  builds its output as one (``out = RowsTensor()``, rows appended, then ``out.shape = ...``), which
  costs about half a FlatTensor's construction through ``__init__``. At mlp-tiny a step builds
  ten tensors and lasts tens of microseconds, so this is a measured share of it
  (studies/loops_floor.py). Holding these as rows spares a conversion at every layer boundary, and
  the SGD update indexes a list faster than an ``array('d')``.

Both answer ``shape``, ``data`` (flat, row-major), ``rows()`` (a list of rows over the last axis)
and ``is_rows``. Each is the only copy of its values: ``data`` of a RowsTensor, and ``rows()`` of a
FlatTensor, build a new copy on every call, so an in-place update (the SGD step) of the one copy
can never leave a stale other behind. Code that updates a tensor in place uses ``is_rows`` to pick.
"""

from __future__ import annotations

from array import array
from math import prod


class FlatTensor:
    """float64 values of ``shape``, flat: ``data`` row-major, ``prod(shape) == len(data)``."""

    __slots__ = ("data", "shape")
    is_rows = False

    def __init__(self, data: array, shape: tuple[int, ...]):
        self.data = data
        self.shape = shape if type(shape) is tuple else tuple(shape)

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> FlatTensor:
        return cls(array("d", bytes(8 * prod(shape))), tuple(shape))

    def rows(self) -> list[list[float]]:
        """A new list of rows (lists of floats) over the last axis.

        Iterating a list of already-boxed floats is faster than iterating an ``array('d')``, which
        boxes every element it yields, so hot loops take the rows once and reuse them.
        """
        width = self.shape[-1]
        data = self.data
        return [data[start:start + width].tolist() for start in range(0, len(data), width)]

    def __eq__(self, other) -> bool:
        return _same_values(self, other)

    def __repr__(self) -> str:
        return f"FlatTensor(shape={self.shape})"


class RowsTensor(list):
    """float64 values of a 1-D or 2-D ``shape``, as the list of their rows (lists of floats) over
    the last axis; a 1-D tensor is one row. ``shape`` is set by whoever builds it:
    ``t = RowsTensor(rows); t.shape = (len(rows), width)``, or ``(width,)`` for one row of a 1-D
    tensor (no ``__init__`` of its own, which would cost a Python call per tensor). ``len()`` is
    the number of rows, not the first dimension of a 1-D tensor; and the list methods it inherits
    (``+``, slicing, ``copy``) return plain lists without a shape: the layers use neither."""

    __slots__ = ("shape",)
    is_rows = True
    __hash__ = None  # a list: mutable, compared by value

    @property
    def data(self) -> array:
        """A new flat, row-major copy of the values."""
        flat = array("d")
        for row in self:
            flat.extend(row)
        return flat

    def rows(self) -> RowsTensor:
        """The tensor itself: it is its list of rows."""
        return self

    def __eq__(self, other) -> bool:
        return _same_values(self, other)

    def __ne__(self, other) -> bool:
        return not _same_values(self, other)

    def __repr__(self) -> str:
        return f"RowsTensor(shape={getattr(self, 'shape', 'not set')})"


def _same_values(a, b) -> bool:
    """Same shape and the same values, whichever way each is held."""
    return isinstance(b, (FlatTensor, RowsTensor)) and a.shape == b.shape and a.data == b.data


def rows_tensor(rows, shape: tuple[int, ...]) -> RowsTensor:
    """A RowsTensor of ``shape`` over ``rows`` (the row lists themselves, not copies). For code
    outside the timed layers; the layers build theirs in place (see RowsTensor)."""
    tensor = RowsTensor(rows)
    tensor.shape = tuple(shape)
    return tensor


def zeros_like(tensor):
    """Zeros of ``tensor``'s shape, of its kind."""
    if tensor.is_rows:
        return rows_tensor([[0.0] * len(row) for row in tensor], tensor.shape)
    return FlatTensor.zeros(tensor.shape)


def from_numpy(values):
    """Copy a NumPy array (any float dtype) into float64: a 1-D or 2-D array as a RowsTensor (what
    the dense layers iterate and the update indexes), any other as a FlatTensor. Boundary only,
    never timed."""
    import numpy as np  # noqa: PLC0415  (only at the boundary, outside the timed code)

    contiguous = np.ascontiguousarray(values, dtype=np.float64)
    if contiguous.ndim == 1:
        return rows_tensor([contiguous.tolist()], contiguous.shape)
    if contiguous.ndim == 2:
        return rows_tensor(contiguous.tolist(), contiguous.shape)
    return FlatTensor(array("d", contiguous.tobytes()), tuple(contiguous.shape))


def to_numpy(tensor):
    """Copy a FlatTensor or RowsTensor back into a float64 NumPy array of its shape."""
    import numpy as np  # noqa: PLC0415

    return np.frombuffer(tensor.data.tobytes(), dtype=np.float64).reshape(tensor.shape).copy()

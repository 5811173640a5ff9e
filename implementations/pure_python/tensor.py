"""The loops backend's arrays: float64 values and their shape, of three kinds.

- **FlatTensor**: one row-major ``array('d')`` (``data``). 8 bytes a number against about 32 for
  a list of boxed floats: what lets a ResNet-50 step at 224x224 fit in memory in pure Python. Every
  tensor of more than two dimensions is flat (feature maps, convolution weights), and what the
  layers compute from them (batch norm's statistics and gradients, max pooling's outputs).
- **rows**: a plain ``list`` of rows, each a list of floats: what the dense layers pass each other
  (activations (N, features), from global average pooling's output on, and their gradients) and
  the weight and bias gradients they return (a bias's as one row, as the bias is held). The shape
  is the lists' lengths. Plain lists because at mlp-tiny a step lasts tens of microseconds and
  builds a dozen of them: CPython 3.11 specializes indexing and ``append`` for exact lists only,
  and a list with a shape attribute costs a constructor call. With this and a leaner update
  mlp-tiny's step went from 0.90x to 0.97x of the textbook's speed (studies/loops_floor.py,
  docs/loops-floor.md).
- **RowsTensor**: a list of rows with a ``shape``, for the 1-D and 2-D tensors that cross the
  trainer's boundary (weights, biases and batch norm's parameters, their velocity, a
  batch): there a shape must be known, and a 1-D tensor is held as one row. The tensor *is* that
  list, so the layers read it as rows; the update indexes its rows in place.

FlatTensor and RowsTensor answer ``shape``, ``data`` (flat, row-major), ``rows()`` (a list of rows
over the last axis) and ``is_rows``; ``shape_of`` and ``flat_values`` answer for all three kinds.
Each is the only copy of its values: ``data`` of a RowsTensor, and ``rows()`` of a FlatTensor,
build a new copy on every call, so an in-place update (the SGD step) of the one copy can never
leave a stale other behind. Code that updates a tensor in place uses ``is_rows`` to pick (the
update's no-decay path for the MLPs picks by the gradient's kind: a plain list of rows).
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
        return _flat_rows(self)

    def rows(self) -> RowsTensor:
        """The tensor itself: it is its list of rows."""
        return self

    def __eq__(self, other) -> bool:
        return _same_values(self, other)

    def __ne__(self, other) -> bool:
        return not _same_values(self, other)

    def __repr__(self) -> str:
        return f"RowsTensor(shape={getattr(self, 'shape', 'not set')})"


def _flat_rows(rows) -> array:
    """A new flat, row-major ``array('d')`` of a list of rows."""
    flat = array("d")
    for row in rows:
        flat.extend(row)
    return flat


def _same_values(a, b) -> bool:
    """Same shape and the same values, whichever way each is held."""
    return isinstance(b, (FlatTensor, RowsTensor)) and a.shape == b.shape and a.data == b.data


def rows_tensor(rows, shape: tuple[int, ...]) -> RowsTensor:
    """A RowsTensor of ``shape`` over ``rows`` (the row lists themselves, not copies): at the
    boundary, and where a layer keeps the kind of a RowsTensor input (relu, sigmoid)."""
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


def shape_of(tensor) -> tuple[int, ...]:
    """The shape of a tensor of any kind; a plain list: (len,) of floats, (len, len(row)) of rows."""
    if type(tensor) is list:
        return (len(tensor), len(tensor[0])) if tensor and type(tensor[0]) is list else (len(tensor),)
    return tuple(tensor.shape)


def flat_values(tensor) -> array:
    """A flat, row-major ``array('d')`` of a tensor of any kind (a new one, but a FlatTensor's own)."""
    if type(tensor) is not list:
        return tensor.data
    return _flat_rows(tensor) if tensor and type(tensor[0]) is list else array("d", tensor)


def to_numpy(tensor):
    """Copy a tensor of any kind back into a float64 NumPy array of its shape."""
    import numpy as np  # noqa: PLC0415

    return np.frombuffer(flat_values(tensor).tobytes(), dtype=np.float64).reshape(shape_of(tensor)).copy()

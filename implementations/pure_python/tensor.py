"""The loops backend's array: a flat row-major ``array('d')`` and its shape.

Flat float64 buffers hold 8 bytes per number, against about 32 for a list of boxed floats, which
is what lets a ResNet-50 step at 224x224 fit in memory in pure Python.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from math import prod


@dataclass
class FlatTensor:
    """``data``: row-major float64 values; ``shape``: the logical shape, ``prod(shape) == len(data)``."""

    data: array
    shape: tuple[int, ...]

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> FlatTensor:
        return cls(array("d", bytes(8 * prod(shape))), tuple(shape))

    def rows(self) -> list[list[float]]:
        """The tensor as a list of rows (lists of floats) over its last axis.

        Iterating a list of already-boxed floats is faster than iterating an ``array('d')``, which
        boxes every element it yields, so hot loops convert each row once and reuse it.
        """
        width = self.shape[-1]
        data = self.data
        return [data[start:start + width].tolist() for start in range(0, len(data), width)]

    @classmethod
    def from_rows(cls, rows: list[list[float]]) -> FlatTensor:
        data = array("d")
        for row in rows:
            data.extend(row)
        return cls(data, (len(rows), len(rows[0]) if rows else 0))


def from_numpy(values) -> FlatTensor:
    """Copy a NumPy array (any float dtype) into a float64 FlatTensor. Boundary only, never timed."""
    import numpy as np  # noqa: PLC0415  (only at the boundary, outside the timed code)

    contiguous = np.ascontiguousarray(values, dtype=np.float64)
    return FlatTensor(array("d", contiguous.tobytes()), tuple(contiguous.shape))


def to_numpy(tensor: FlatTensor):
    """Copy a FlatTensor back into a float64 NumPy array of its shape."""
    import numpy as np  # noqa: PLC0415

    return np.frombuffer(tensor.data.tobytes(), dtype=np.float64).reshape(tensor.shape).copy()

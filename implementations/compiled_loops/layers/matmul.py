"""The one matrix product the dense layers need, as explicit loops in output-row order.

``out[p, :] += sum_j a[p, j] * b[j, :]``: the innermost loop runs along a contiguous row of ``b``
and of ``out`` (an axpy), which LLVM vectorizes without reordering any sum. The dot-product order
(innermost loop over ``j``) is a reduction that LLVM may not vectorize without fastmath, and ran
3-10x slower. Rows of ``out`` go in tiles of about ``TILE_VALUES`` numbers, so that each row of
``b`` read from memory serves a whole tile while the tile stays in the first-level cache.
"""

from __future__ import annotations

import numpy as np

from ..jit import kernel

TILE_VALUES = 4096  # numbers of `out` per tile: 32 KiB in float64, a first-level data cache's size (2048 to 16384 measured alike)


@kernel("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1])")
def accumulate_rows(a, b, out):
    """out (P, Q) += a (P, J) @ b (J, Q), all C-contiguous."""
    rows, inner = a.shape
    width = b.shape[1]
    tile = max(1, TILE_VALUES // max(width, 1))
    for first in range(0, rows, tile):
        last = min(first + tile, rows)
        for j in range(inner):
            for p in range(first, last):
                scale = a[p, j]
                for q in range(width):
                    out[p, q] += scale * b[j, q]


@kernel("void({f}[:, ::1], {f}[:, ::1])")
def transpose(a, out):
    """out (Q, P) = a (P, Q) transposed, copied element by element."""
    rows, columns = a.shape
    for p in range(rows):
        for q in range(columns):
            out[q, p] = a[p, q]


def transposed(a: np.ndarray) -> np.ndarray:
    """A C-contiguous transposed copy of the 2-D array ``a``."""
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    transpose(a, out)
    return out

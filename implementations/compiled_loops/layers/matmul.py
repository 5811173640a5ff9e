"""The one matrix product the dense layers need, as explicit loops in output-row order.

``out[p, :] += sum_j a[p, j] * b[j, :]``: the innermost loop runs along a contiguous row of ``b``
and of ``out`` (an axpy), which LLVM vectorizes without reordering any sum. The dot-product order
(innermost loop over ``j``) is a reduction that LLVM may not vectorize without fastmath, and ran
3-10x slower. Rows of ``out`` go in tiles of about ``TILE_VALUES`` numbers, so that each row of
``b`` read from memory serves a whole tile while the tile stays in the first-level cache.
"""

from __future__ import annotations

import numba
import numpy as np

from ..jit import kernel

TILE_VALUES = 4096  # numbers of `out` per tile: 32 KiB in float64, a first-level data cache's size (2048 to 16384 measured alike)


@kernel("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], int64)", parallel=True)
def accumulate_rows(a, b, out, parts):
    """out (P, Q) += a (P, J) @ b (J, Q), all C-contiguous. In ``parts`` > 1, the tiles of rows of
    ``out`` are shared out (at least one tile per part), each row written by one thread."""
    rows, inner = a.shape
    width = b.shape[1]
    tile = max(1, min(TILE_VALUES // max(width, 1), -(-rows // parts)))
    for index in numba.prange(-(-rows // tile)):
        first = index * tile
        last = min(first + tile, rows)
        for j in range(inner):
            for p in range(first, last):
                scale = a[p, j]
                for q in range(width):
                    out[p, q] += scale * b[j, q]


@kernel("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], int64)", parallel=True)
def accumulate_transposed(a, b, out, parts):
    """out (Q, R) += a (P, Q).T @ b (P, R), all C-contiguous: ``a`` is read once, row by row, and
    each of its numbers scales a row of ``b`` into a row of ``out`` (keep ``out`` small: it is
    swept once per row of ``a``). Each of the ``parts`` owns a band of rows of ``out`` (and the
    matching columns of ``a``)."""
    rows, inner = a.shape
    width = b.shape[1]
    band = max(1, -(-inner // parts))
    for part in numba.prange(-(-inner // band)):
        for p in range(rows):
            for q in range(part * band, min(part * band + band, inner)):
                scale = a[p, q]
                for r in range(width):
                    out[q, r] += scale * b[p, r]


TRANSPOSE_BLOCK = 16  # a 16x16 block of float64 is 2 KiB read and 2 KiB written: both stay in L1


@kernel("void({f}[:, ::1], {f}[:, ::1])")
def transpose(a, out):
    """out (Q, P) = a (P, Q) transposed, copied element by element in square blocks: a plain
    row-by-row copy writes ``out`` a column at a time, and where a row is a power of two long
    (512, 1024 numbers) every write of a column lands in the same few cache sets."""
    rows, columns = a.shape
    for p0 in range(0, rows, TRANSPOSE_BLOCK):
        for q0 in range(0, columns, TRANSPOSE_BLOCK):
            for p in range(p0, min(p0 + TRANSPOSE_BLOCK, rows)):
                for q in range(q0, min(q0 + TRANSPOSE_BLOCK, columns)):
                    out[q, p] = a[p, q]


def transposed(a: np.ndarray) -> np.ndarray:
    """A C-contiguous transposed copy of the 2-D array ``a``."""
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    transpose(a, out)
    return out

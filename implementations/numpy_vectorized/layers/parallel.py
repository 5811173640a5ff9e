"""Elementwise passes split across the threads BLAS is allowed, as torch's ``parallel_for`` does.

NumPy runs a ufunc on one core, while OpenBLAS runs the products on every thread it is allowed;
batch norm, relu and the residual add are then the serial part of a step (about a third of it at
batch 8 on 2 threads). NumPy releases the GIL inside a ufunc loop, so the same ufuncs called on
disjoint row blocks from a small thread pool run in parallel. The thread count follows the BLAS
library's current setting (``threadpoolctl.threadpool_limits``), so one knob sets both, as
``torch.set_num_threads`` does for torch.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Below this many elements a pass takes a few microseconds: handing it to threads costs more.
MIN_PARALLEL_ELEMENTS = 1 << 16

_blas = None
_pool: ThreadPoolExecutor | None = None


def thread_count() -> int:
    """The number of threads the BLAS library is currently allowed (1 where it cannot be read)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController  # noqa: PLC0415

        blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
        _blas = blas[0] if blas else False
    return max(1, int(_blas.get_num_threads())) if _blas else 1


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool._max_workers < threads:
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vecbench-numpy")
    return _pool


def row_blocks(rows: int, elements: int) -> list[slice]:
    """Split ``rows`` rows (``elements`` numbers in all) into one contiguous block per thread."""
    threads = thread_count() if elements >= MIN_PARALLEL_ELEMENTS else 1
    threads = max(1, min(threads, rows))
    bounds = np.linspace(0, rows, threads + 1).astype(int)
    return [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def for_row_blocks(work: Callable[[slice], object], rows: int, elements: int) -> list:
    """Run ``work(block)`` for every row block, in parallel where it pays; returns the results in order.

    ``work`` must touch only its own rows of any output (ufunc calls with ``out=`` slices).
    """
    blocks = row_blocks(rows, elements)
    if len(blocks) == 1:
        return [work(blocks[0])]
    return list(_executor(len(blocks)).map(work, blocks))


def flat_view(x: np.ndarray) -> np.ndarray | None:
    """x's numbers as a 1-D view in memory order, for C-contiguous and channels-last arrays; else None."""
    if x.flags.c_contiguous:
        return x.reshape(-1)
    if x.ndim == 4 and x.transpose(0, 2, 3, 1).flags.c_contiguous:
        return x.transpose(0, 2, 3, 1).reshape(-1)
    return None


def elementwise(ufunc_pass: Callable[..., None], out: np.ndarray, *inputs: np.ndarray) -> bool:
    """Apply ``ufunc_pass(out_block, *input_blocks)`` over matching memory-order blocks.

    ``out`` and ``inputs`` must share shape and layout (``np.empty_like`` of the first input gives
    that). Returns False without doing anything when they do not, so the caller falls back to a
    plain NumPy expression.
    """
    flats = [flat_view(a) for a in (out, *inputs)]
    if any(f is None for f in flats) or any(a.strides != out.strides or a.shape != out.shape for a in inputs):
        return False
    size = flats[0].size
    # Blocks of whole 4096-number chunks keep every block's start aligned for SIMD.
    chunks = -(-size // 4096)

    def work(block: slice) -> None:
        lo, hi = block.start * 4096, min(block.stop * 4096, size)
        ufunc_pass(*(f[lo:hi] for f in flats))

    for_row_blocks(work, chunks, size)
    return True

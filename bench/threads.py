"""Run code at a fixed thread count in every library that has a thread pool."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from threadpoolctl import threadpool_limits


@lru_cache(maxsize=1)
def _numba():
    """numba where it is installed (the optional extra), else None. Imported here, before any
    trainer is built, so that its pool is set before the first numba case compiles and runs."""
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        return None
    return numba


@contextmanager
def thread_limit(threads: int):
    """BLAS and OpenMP pools (threadpoolctl), torch's intra-op pool and numba's parallel loops
    (``numba.set_num_threads``, at most the threads numba started), all at ``threads``."""
    import torch  # noqa: PLC0415

    numba = _numba()
    previous = torch.get_num_threads()
    previous_numba = numba.get_num_threads() if numba else None
    torch.set_num_threads(threads)
    if numba:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)
        if numba:
            numba.set_num_threads(previous_numba)

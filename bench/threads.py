"""Run code at a fixed thread count in every library that has a thread pool."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def thread_limit(threads: int):
    """BLAS and OpenMP pools (threadpoolctl), torch's intra-op pool and numba's parallel loops
    (``numba.set_num_threads``, at most the threads numba started), all at ``threads``.

    numba only where something imported it: the runner asks a backend whether it can run
    (``unavailable()``, which imports numba for the numba backend) before it enters this for the
    backend's case, and a run without numba cases never starts numba's threads."""
    import torch  # noqa: PLC0415

    numba = sys.modules.get("numba")
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

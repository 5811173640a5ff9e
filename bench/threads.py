"""Run code at a fixed thread count in every library that has a thread pool."""

from __future__ import annotations

from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def thread_limit(threads: int):
    """BLAS and OpenMP pools (threadpoolctl) and torch's intra-op pool, all at ``threads``."""
    import torch  # noqa: PLC0415

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)

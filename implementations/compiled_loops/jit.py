"""The numba backend's one decorator: every kernel compiled ahead of the first step, cached on disk.

A kernel is declared with its signatures, ``{f}`` standing for the float type, and compiled for one
dtype at a time by :func:`compile_kernels` when a trainer is built, never inside a timed step: the
harness records that time as ``compile_seconds``. ``cache=True`` keeps the machine code under
``__pycache__`` (or ``NUMBA_CACHE_DIR``), so a later process loads it in milliseconds.

``error_model="numpy"``: a division by zero gives inf/nan, as in NumPy, instead of a check that
raises ZeroDivisionError; that check sits in every loop that divides and keeps LLVM from vectorizing
it. No ``fastmath``: it lets LLVM reorder sums, and the numbers would no longer be the loops' own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba

_KERNELS: list[tuple[Callable, tuple[str, ...]]] = []


def kernel(*signatures: str) -> Callable[[Callable], Callable]:
    """Compile the decorated loops with numba for each of ``signatures`` (numba type strings with
    ``{f}`` for ``float32``/``float64``, e.g. ``"void({f}[:, ::1], {f}[::1])"``), lazily per dtype."""

    def wrap(function: Callable) -> Callable:
        compiled = numba.njit(cache=True, error_model="numpy")(function)
        _KERNELS.append((compiled, signatures))
        return compiled

    return wrap


def compile_kernels(dtype: str) -> float:
    """Compile (or load from numba's disk cache) every kernel for ``dtype``; returns the seconds it took.

    A kernel already compiled for ``dtype`` in this process costs nothing the second time.
    """
    start = time.perf_counter()
    for compiled, signatures in _KERNELS:
        for signature in signatures:
            compiled.compile(signature.format(f=dtype))
    return time.perf_counter() - start

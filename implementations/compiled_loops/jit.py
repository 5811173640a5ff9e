"""The numba backend's one decorator: every kernel compiled ahead of the first step, cached on disk.

A kernel is declared with its signatures, ``{f}`` standing for the float type, and compiled for one
dtype at a time by :func:`compile_kernels` when a trainer is built, never inside a timed step: the
harness records that time as ``compile_seconds``. ``cache=True`` keeps the machine code under
``__pycache__`` (or ``NUMBA_CACHE_DIR``), so a later process loads it in milliseconds.

``error_model="numpy"``: a division by zero gives inf/nan, as in NumPy, instead of a check that
raises ZeroDivisionError; that check sits in every loop that divides and keeps LLVM from vectorizing
it. No ``fastmath``: it lets LLVM reorder sums, and the numbers would no longer be the loops' own.

All cores: a kernel declared ``parallel=True`` splits its outermost loop with ``numba.prange`` into
``parts`` (its last parameter) that write disjoint numbers of its output, each number summed in the
order the one-thread loops sum it. It is compiled twice from the one source: as is, where ``prange``
runs as ``range`` (the one-thread rung: the very loops timed before), and with ``parallel=True``; a
call from Python runs the second, with ``parts`` = numba's thread count, where numba runs more than
one thread (``numba.set_num_threads``, which the harness's ``bench.threads.thread_limit`` sets per
case), and the first with ``parts=1`` otherwise. Both give the same numbers, bit for bit. The
thread count is an argument, not read inside a kernel: a kernel that calls
``numba.get_num_threads()`` cannot be cached on disk.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable

import numba

_KERNELS: list[tuple[Callable, tuple[str, ...], bool]] = []  # (kernel, signatures, is a parallel twin)
_OPTIONS = dict(cache=True, error_model="numpy")


def kernel(*signatures: str, parallel: bool = False) -> Callable[[Callable], Callable]:
    """Compile the decorated loops with numba for each of ``signatures`` (numba type strings with
    ``{f}`` for ``float32``/``float64``, e.g. ``"void({f}[:, ::1], {f}[::1])"``), lazily per dtype.

    ``parallel``: compile a twin with ``parallel=True`` beside the one-thread kernel and return a
    Python function, called without the last argument ``parts``, that calls whichever numba's
    thread count asks for (call it from Python, not from another kernel); ``.serial`` and
    ``.parallel`` are the two kernels, each taking ``parts``.
    """

    def wrap(function: Callable) -> Callable:
        serial = numba.njit(**_OPTIONS)(function)
        _KERNELS.append((serial, signatures, False))
        if not parallel:
            return serial
        threaded = numba.njit(parallel=True, **_OPTIONS)(_renamed(function, f"{function.__qualname__}_parallel"))
        _KERNELS.append((threaded, signatures, True))

        def run(*args):
            parts = threads()
            return threaded(*args, parts) if parts > 1 else serial(*args, 1)

        run.serial, run.parallel = serial, threaded
        run.__name__, run.__doc__ = function.__name__, function.__doc__
        return run

    return wrap


def _renamed(function: Callable, qualname: str) -> Callable:
    """The same function under another ``__qualname__``. numba's disk cache files compilations by
    module, qualified name and bytecode, not by the ``parallel`` flag: under one name the parallel
    twin would load the one-thread machine code from the cache (seen: a 2-thread call as fast, in
    wall time, as its CPU time)."""
    twin = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)
    twin.__qualname__ = qualname
    return twin


@numba.njit  # not cached (it reads numba's thread state through a pointer); compiled in 0.1 s
def threads():
    """The threads numba runs a parallel loop on now (65 ns from Python: a zero-argument kernel call;
    ``numba.get_num_threads()`` from Python takes a lock and costs 30 times that)."""
    return numba.get_num_threads()


def compile_kernels(dtype: str) -> float:
    """Compile (or load from numba's disk cache) every kernel for ``dtype``; returns the seconds it took.

    The parallel twins only where numba runs more than one thread now (the harness builds a case's
    trainer at the case's thread count): a one-thread case never pays for them. A kernel already
    compiled for ``dtype`` in this process costs nothing the second time.
    """
    start = time.perf_counter()
    parallel = threads() > 1
    for compiled, signatures, twin in _KERNELS:
        if twin and not parallel:
            continue
        for signature in signatures:
            compiled.compile(signature.format(f=dtype))
    return time.perf_counter() - start

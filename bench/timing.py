"""The timer: warm-up, calibration, and blocks of timed rounds with wall and CPU time.

One round is ``iterations`` back-to-back calls; its ``seconds`` is the round's wall time over
``iterations`` (``time.perf_counter``), its ``cpu_seconds`` the process's CPU time over the same
calls (``time.process_time``, every thread), so that a round whose process did not get its cores
shows it. Iterations are calibrated once per case so that a round lasts at least ``min_time``
(pytest-benchmark's rule), and every block starts with untimed warm-up calls: caches, allocator
pools and BLAS threads are in the same state for every round, whatever ran before the block.
GC is off inside a block: a collection landing in one round and not another is noise, and the
timed steps create no reference cycles for it to collect. (The runner collects once per pass over
a config, outside every block: with torch loaded a full collection takes tens of milliseconds.)
"""

from __future__ import annotations

import gc
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .contention import Load, LoadProbe


@dataclass
class Block:
    """The rounds of one repeat of one case. seconds, cpu_seconds: per call, shape (rounds,)."""

    seconds: list[float]
    cpu_seconds: list[float]
    iterations: int
    warmup_calls: int
    load: Load
    result: object  # what the last call returned
    rank_seconds: list[list[float]] | None = None  # per round, every rank's seconds per step (data parallel)


def calibrate(target, min_time: float, first_call: float) -> int:
    """Calls per round so that a round lasts at least ``min_time`` seconds.

    first_call: seconds one call took (the warm-up's). Grows the estimate until a timed round
    really reaches ``min_time``, at most 20 doublings.
    """
    if first_call >= min_time:
        return 1
    iterations = max(1, math.ceil(min_time / max(first_call, 1e-9)))
    for _ in range(20):
        start = time.perf_counter()
        for _ in range(iterations):
            target()
        if time.perf_counter() - start >= min_time:
            return iterations
        iterations *= 2
    return iterations


def warm_up(target, warmup_time: float, max_calls: int) -> tuple[int, float]:
    """Untimed calls for about ``warmup_time`` seconds (at least one, at most ``max_calls``).

    Returns (calls made, seconds of the last call).
    """
    calls, last = 0, 0.0
    start = time.perf_counter()
    while calls < max(1, max_calls):
        t0 = time.perf_counter()
        target()
        last = time.perf_counter() - t0
        calls += 1
        if time.perf_counter() - start >= warmup_time:
            break
    return calls, last


# After a multi-threaded call, OpenBLAS's worker threads spin for 0.1-0.2 s before they sleep
# (measured here: a 1-thread GEMM right after a 2-thread one ran beside a spinning worker, CPU/wall
# 2.0; torch's OpenMP workers stop within 20 ms). A block must not start beside the last block's
# spinners: wait until the process is idle.
SETTLE_POLL = 0.01  # seconds
SETTLE_IDLE = 0.2  # the process is idle when it used less than this share of one core over a poll
SETTLE_MAX = 0.5  # seconds at most


def settle() -> float:
    """Sleep until this process's own threads stop spinning; returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < SETTLE_MAX:
        cpu = time.process_time()
        time.sleep(SETTLE_POLL)
        if time.process_time() - cpu < SETTLE_IDLE * SETTLE_POLL:
            break
    return time.perf_counter() - start


@contextmanager
def collector_paused():
    """GC off inside, as it was after: every timed block runs under this (the harness's here, and
    the studies' that compare a backend with its floor, so that both time it the same way)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def time_block(target, *, iterations: int, rounds: int, warmup_time: float, warmup_max_calls: int,
               cores: int) -> Block:
    """Warm up, then time ``rounds`` rounds of ``iterations`` calls each; the load is read around it all.

    warmup_max_calls 0 skips the warm-up (a step of many minutes, timed once).
    """
    probe = LoadProbe(cores)
    settle()
    with collector_paused():
        probe.start()
        try:
            warm = warm_up(target, warmup_time, warmup_max_calls)[0] if warmup_max_calls > 0 else 0
            seconds, cpu, result = [], [], None
            wall, process = time.perf_counter, time.process_time
            for _ in range(rounds):
                c0, t0 = process(), wall()
                for _ in range(iterations):
                    result = target()
                t1, c1 = wall(), process()
                seconds.append((t1 - t0) / iterations)
                cpu.append((c1 - c0) / iterations)
        finally:
            load = probe.stop()
    return Block(seconds, cpu, iterations, warm, load, result)

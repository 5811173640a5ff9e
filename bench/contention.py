"""Did the process get the machine while it was being timed?

A shared machine lends its cores to neighbours. Two counters see it precisely and cheaply:

* the scheduler's ``run_delay`` of every thread of this process (``/proc/self/task/*/schedstat``,
  nanoseconds): time our threads were ready to run but waited for a CPU. A process alone on the
  machine waits microseconds; one whose core a neighbour took waits most of the time;
* the hypervisor's ``steal`` (``/proc/stat``): time the virtual CPUs did not get at all.

Both are read around every timed block (``LoadProbe``) and recorded beside its rounds, so that a
contended round is flagged and left out of the statistics (``is_contended``), not silently
averaged. (``/proc/stat``'s busy time of other processes counts in 10 ms ticks: too coarse for
blocks of 50 ms, so it is not used.)
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TASKS = Path("/proc/self/task")

# A round is contended when, over its block, our threads together waited for a CPU more than this
# many seconds per second (0.1: a tenth of one core's time), or the hypervisor stole more than this
# fraction of the machine's CPU time. (5% flagged 10% of the default profile's rounds on this
# machine, mostly blocks whose times did not move: steal on the core a 1-thread case was not
# using. A stolen core a case does use shows as a low CPU share, the rule below.)
CONTENDED_RUN_WAIT = 0.1
CONTENDED_STEAL = 0.2
# A round whose threads waited (CONTENDED_RUN_WAIT) but kept this fraction of their cores busy had
# them all the same. CPU over wall time alone never flags a round: a step slowed by an off-CPU wait
# of its own (a lock, a sleep, I/O) shows a low share on an idle machine, and is a slower step, not
# contention (issue 29: such a slowdown was excused as "contended").
CONTENDED_CPU_SHARE = 0.85


def _run_delay(pids: tuple[int, ...] = ()) -> float | None:
    """Seconds every thread of this process (or of the processes ``pids``: a data-parallel case's
    ranks) has waited on a run queue; None where unknown."""
    total, seen = 0, False
    try:
        tasks = [t for folder in ([Path(f"/proc/{pid}/task") for pid in pids] or [_TASKS]) for t in folder.iterdir()]
    except OSError:
        return None
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        if len(fields) >= 2:
            total += int(fields[1])
            seen = True
    return total / 1e9 if seen else None


def _steal_ticks() -> int | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    return int(fields[8])


@dataclass(frozen=True)
class Load:
    """What the rest of the machine took from us during a block."""

    run_wait: float  # seconds our threads waited for a CPU, per second of the block (NaN: unknown)
    steal: float  # fraction of the machine's CPU time the hypervisor took (NaN: unknown)


class LoadProbe:
    """Reads the counters at ``start`` and returns the block's ``Load`` at ``stop``."""

    def __init__(self, cores: int, pids: tuple[int, ...] = ()):
        """``pids``: the processes whose threads' waits count (default: this one)."""
        self.cores = cores
        self.pids = tuple(pids)
        self._start = None

    def start(self) -> None:
        self._start = (_run_delay(self.pids), _steal_ticks(), time.perf_counter())

    def stop(self) -> Load:
        delay0, steal0, wall0 = self._start
        delay1, steal1, wall1 = _run_delay(self.pids), _steal_ticks(), time.perf_counter()
        wall = wall1 - wall0
        if wall <= 0:
            return Load(math.nan, math.nan)
        # threads that ended during the block take their delay with them: never below zero
        wait = max(0.0, (delay1 - delay0) / wall) if delay0 is not None and delay1 is not None else math.nan
        # one tick (10 ms) either way is the counter's resolution, not a measurement
        steal = (min(1.0, max(0, steal1 - steal0 - 1) / _TICKS / (wall * self.cores))
                 if steal0 is not None and steal1 is not None else math.nan)
        return Load(wait, steal)


def is_contended(load: Load, threads: int, seconds: float, cpu_seconds: float) -> bool:
    """The rule that flags a round (see the thresholds above); an unknown load never flags.

    A round whose process kept its ``threads`` cores busy (CPU time at least ``CONTENDED_CPU_SHARE``
    of ``threads`` x wall time) had them, whatever its threads waited: a case whose own threads
    outnumber the cores (numpy's helper threads beside two BLAS threads) waits on itself, and that
    is part of how it runs, not a neighbour.
    """
    if load.steal > CONTENDED_STEAL:
        return True
    share = cpu_seconds / seconds / threads if seconds > 0 and threads > 0 else float("nan")
    return load.run_wait > CONTENDED_RUN_WAIT and not share >= CONTENDED_CPU_SHARE

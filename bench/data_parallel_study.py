"""Threads or processes: on one machine, one process on every core against the same cores as
processes of one thread each (the data-parallel rung), per config; read by the report's section and
by docs/data-parallel.md's generated table (the study: ``bench run --profile data-parallel
--world-size 1 2``, in ``results/data-parallel/<machine kind>/``).

Per config, float32, one machine: the single-process step (torch-cpu) at one thread and at all
cores, the data-parallel step (torch-ddp) over one process per core; which of "threads" and
"processes" wins and by how much (the bootstrap interval of the ratio of their times, both timed
interleaved in one run); the strong-scaling parallel efficiency of P processes, ``T(one process,
one thread) / (P x T(P processes))``; DDP's own cost at one process; the all-reduce's exposed share
of a step; and what a rank all-reduces per step against the arithmetic it does (FLOPs per byte).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import stats
from .breakdown import Breakdown, breakdowns
from .data_parallel_case import COMMUNICATION, COMPUTE
from .formatting import number, seconds
from .keys import MachineKey
from .measurement import Measurement, measurements
from .profiles import SINGLE_PROCESS_TWIN
from .results import newest_in, read_results


@dataclass(frozen=True)
class Comparison:
    """One config on one machine: the cores as threads of one process, or as processes."""

    machine: MachineKey
    config: str  # ``mlp-mnist@32``
    one_thread: Measurement  # the single-process step at one thread
    threads: Measurement  # ... at every core
    processes: Measurement  # the data-parallel step, a process per core, one thread each
    one_process: Measurement | None  # the data-parallel step in one process on every core
    exposed: float | None  # the all-reduce's exposed share of a step (None: no breakdown)
    weak: Measurement | None = None  # the data-parallel step at the batch times the processes (weak scaling)

    @property
    def world_size(self) -> int:
        return self.processes.key.world_size

    def _ratio(self, top: Measurement, bottom: Measurement) -> tuple[float, stats.Interval | None]:
        return top.time / bottom.time, stats.ratio_interval(top.clean, top.clean_repeats, bottom.clean,
                                                            bottom.clean_repeats)

    @property
    def processes_over_threads(self) -> tuple[float, stats.Interval | None]:
        """time(threads) / time(processes): above 1, processes win."""
        return self._ratio(self.threads, self.processes)

    @property
    def efficiency(self) -> tuple[float, stats.Interval | None]:
        """T(one process, one thread) / (P x T(P processes)), with its interval."""
        ratio, interval = self._ratio(self.one_thread, self.processes)
        p = self.world_size
        return ratio / p, stats.Interval(interval.low / p, interval.high / p) if interval else None

    @property
    def weak_efficiency(self) -> tuple[float, stats.Interval | None] | None:
        """Weak scaling: T(one process, one thread, batch B) / T(P processes, batch P x B), each
        process holding B samples as the one process did (1: perfect)."""
        return self._ratio(self.one_thread, self.weak) if self.weak else None

    @property
    def overhead(self) -> tuple[float, stats.Interval | None] | None:
        """time(DDP in one process) / time(the single-process step), both on every core."""
        return self._ratio(self.one_process, self.threads) if self.one_process else None

    @property
    def flops_per_byte(self) -> float:
        """A rank's arithmetic per step over the bytes it all-reduces."""
        return self.processes.flops / self.world_size / max(self.processes.communicated_bytes, 1)


def comparisons(cases: list[Measurement], parts: list[Breakdown]) -> list[Comparison]:
    """Every config on every machine where both the threads and the processes were measured."""
    found = {(m.machine, m.key.config, m.key.batch_size, m.key.backend, m.key.world_size, m.key.threads): m
             for m in cases if m.ok and m.key.dtype == "float32"}
    shares = {(b.machine, b.key.config, b.key.batch_size, b.key.world_size): b.parts for b in parts
              if b.key.dtype == "float32" and COMPUTE in b.parts}
    out = []
    for machine, config, batch in dict.fromkeys(k[:3] for k in found):
        cores = machine.cores
        single = {k[5]: m for k, m in found.items() if k[:3] == (machine, config, batch) and k[3] == SINGLE_PROCESS_TWIN}
        spread = {k[4]: m for k, m in found.items() if k[:3] == (machine, config, batch)
                  and k[3] != SINGLE_PROCESS_TWIN and k[5] == 1 and k[4] == cores}
        one_process = next((m for k, m in found.items() if k[:3] == (machine, config, batch)
                            and k[3] != SINGLE_PROCESS_TWIN and k[4] == 1 and k[5] == cores), None)
        if 1 not in single or cores not in single or cores not in spread or cores < 2:
            continue
        share = shares.get((machine, config, batch, cores))
        exposed = share.get(COMMUNICATION, 0.0) / sum(share.values()) if share else None
        weak = next((m for k, m in found.items() if k[:3] == (machine, config, batch * cores)
                     and k[3] != SINGLE_PROCESS_TWIN and k[4] == cores and k[5] == 1), None)
        out.append(Comparison(machine, f"{config}@{batch}", single[1], single[cores], spread[cores], one_process,
                              exposed, weak))
    return out


def _with_interval(value: float, interval: stats.Interval | None) -> str:
    shown = number(value, 2)
    return f"{shown} [{number(interval.low, 2)}, {number(interval.high, 2)}]" if interval else shown


def _winner(c: Comparison) -> str:
    ratio, interval = c.processes_over_threads
    if interval and interval.low <= 1 <= interval.high:
        return f"neither: {_with_interval(ratio, interval)}x"
    if ratio >= 1:
        return f"processes, {_with_interval(ratio, interval)}x"
    inverse = stats.Interval(1 / interval.high, 1 / interval.low) if interval else None
    return f"threads, {_with_interval(1 / ratio, inverse)}x"


COLUMNS = ["machine", "config", "1 process, 1 thread", "1 process, all cores", "a process per core",
           "faster (95% interval)", "parallel efficiency", "weak scaling", "DDP in 1 process / torch-cpu",
           "all-reduce exposed", "MB all-reduced per rank", "FLOPs per byte"]
NOTE = ("float32. torch-cpu in one process, and torch-ddp with the batch split over a process per core (one "
        "thread each, gloo), timed interleaved in one run. Faster: the other's time over the winner's (neither: "
        "the interval holds 1). Parallel efficiency (strong scaling, the same batch): the one-thread, "
        "one-process time over processes x their time. Weak scaling: the one-thread, one-process time over "
        "that of the processes at a batch as many times larger (the same samples per process); 1 is perfect. "
        "All-reduce exposed: the share of a step beyond the same step without DDP's all-reduce (no_sync), "
        "median of 5 pairs. FLOPs per byte: a rank's arithmetic per step over the bytes it all-reduces: the "
        "fewer, the more the all-reduce weighs.")


def rows(found: list[Comparison]) -> list[list[str]]:
    return [[str(c.machine), c.config, seconds(c.one_thread.time), seconds(c.threads.time), seconds(c.processes.time),
             _winner(c), _with_interval(*c.efficiency), _with_interval(*c.weak_efficiency) if c.weak else "-",
             _with_interval(*c.overhead) if c.overhead else "-",
             f"{c.exposed:.0%}" if c.exposed is not None else "-", f"{c.processes.communicated_bytes / 1e6:.2f}",
             f"{c.flops_per_byte:.0f}"] for c in found]


STUDIES = "results/data-parallel"  # a folder per machine kind, a results file per study


def study_table(folder: Path) -> tuple[list[str], list[list[str]], str]:
    """(columns, rows, note) of the newest study in ``folder``, with how busy the machine was."""
    path = newest_in(folder, ".parquet", "data-parallel study")
    frame = read_results([path])
    cases = measurements(frame)
    found = comparisons(cases, breakdowns(frame))
    rounds = sum(m.rounds for m in cases if m.ok)
    contended = sum(int(m.contended.sum()) for m in cases if m.ok)
    return COLUMNS[1:], [row[1:] for row in rows(found)], (
        f"{NOTE} From the newest study in {STUDIES}/{folder.name}/ ({found[0].machine if found else 'no machine'}); {contended} of {rounds} "
        "rounds were contended (other work on the machine) and are left out.")

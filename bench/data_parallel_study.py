"""The data-parallel study (docs/data-parallel.md): on one machine, one process on every core
against the same cores as processes of one thread each, from a ``bench run --profile
data-parallel --world-size 1 2`` results file (``results/data-parallel/<machine kind>/``).

Per config, float32: the single-process step (torch-cpu) at one thread and at all cores, the
data-parallel step (torch-ddp) at one process on all cores and at one process per core; which of
"threads" and "processes" wins, by how much (the bootstrap interval of the ratio of their times,
both timed interleaved in one run); the strong-scaling parallel efficiency of P processes,
``T(one process, one thread) / (P x T(P processes))``; the all-reduce's exposed share of a step;
and what a rank all-reduces per step against the arithmetic it does (FLOPs per byte).
"""

from __future__ import annotations

from pathlib import Path

from . import stats
from .breakdown import breakdowns
from .data_parallel_case import COMMUNICATION, COMPUTE
from .errors import UsageError
from .formatting import number, seconds
from .measurement import Measurement, measurements
from .profiles import SINGLE_PROCESS_TWIN
from .results import read_results

SINGLE = SINGLE_PROCESS_TWIN  # the one-process step the data-parallel rung splits


def newest(folder: Path) -> Path:
    """The newest results file of a machine kind's folder (files are named by their start, UTC)."""
    found = sorted(folder.glob("*.parquet"))
    if not found:
        raise UsageError(f"no data-parallel study in {folder}")
    return found[-1]


def _ratio(top: Measurement, bottom: Measurement) -> tuple[float, stats.Interval | None]:
    """``top``'s time over ``bottom``'s and its interval (both of one run, interleaved)."""
    interval = stats.ratio_interval(top.clean, top.clean_repeats, bottom.clean, bottom.clean_repeats)
    return top.time / bottom.time, interval


def _with_interval(value: float, interval: stats.Interval | None, scale: float = 1.0) -> str:
    shown = number(value * scale, 2)
    return f"{shown} [{number(interval.low * scale, 2)}, {number(interval.high * scale, 2)}]" if interval else shown


def rows_of(path: Path) -> list[dict]:
    """One dict per config of the study file at ``path`` (float32 cases only)."""
    frame = read_results([path])
    found = {(m.key.config, m.key.batch_size, m.key.backend, m.key.world_size, m.key.threads): m
             for m in measurements(frame) if m.ok and m.key.dtype == "float32"}
    parts = {(b.key.config, b.key.batch_size, b.key.world_size): b.parts for b in breakdowns(frame)
             if b.key.dtype == "float32"}
    cores = max((m.machine.cores for m in found.values()), default=0)
    out = []
    for config, batch in dict.fromkeys((k[0], k[1]) for k in found):
        one = found.get((config, batch, SINGLE, 1, 1))
        threads = found.get((config, batch, SINGLE, 1, cores))
        spread = {k[3]: m for k, m in found.items() if k[:2] == (config, batch) and k[3] > 1 and k[2] != SINGLE}
        ddp_one = next((m for k, m in found.items() if k[:2] == (config, batch) and k[2] != SINGLE and k[3] == 1), None)
        if not (one and threads and spread):
            continue
        size = max(spread)
        processes = spread[size]
        share = parts.get((config, batch, size))
        out.append({
            "config": f"{config}@{batch}", "processes": size, "one": one, "threads": threads, "spread": processes,
            "ddp_one": ddp_one, "winner": _ratio(threads, processes),
            "efficiency": _ratio(one, processes), "overhead": _ratio(ddp_one, threads) if ddp_one else None,
            "share": share[COMMUNICATION] / (share[COMMUNICATION] + share[COMPUTE]) if share else None,
            "bytes": processes.communicated_bytes, "flops": processes.flops / size,
        })
    return out


def study_table(folder: Path) -> tuple[list[str], list[list[str]], str]:
    """(columns, rows, note) of the newest study in ``folder``."""
    path = newest(folder)
    rows = []
    for r in rows_of(path):
        ratio, interval = r["winner"]
        wins = "processes" if ratio > 1 else "threads"
        efficiency, eff_interval = r["efficiency"]
        overhead = _with_interval(*r["overhead"]) if r["overhead"] else "-"
        rows.append([
            r["config"], seconds(r["one"].time), seconds(r["threads"].time), seconds(r["spread"].time),
            f"{wins} {_with_interval(max(ratio, 1 / ratio), interval if ratio > 1 else _inverse(interval))}x",
            _with_interval(efficiency, eff_interval, 1 / r["processes"]), overhead,
            f"{r['share']:.0%}" if r["share"] is not None else "-",
            f"{r['bytes'] / 1e6:.2f}", f"{r['flops'] / max(r['bytes'], 1):.0f}",
        ])
    cores = rows_of(path)[0]["processes"] if rows else 0
    columns = ["config", "1 process, 1 thread", f"1 process, {cores} threads", f"{cores} processes, 1 thread each",
               "faster, by (95% interval)", f"parallel efficiency of {cores} processes",
               "DDP at 1 process over torch-cpu", "all-reduce's exposed share", "MB all-reduced per rank",
               "FLOPs per byte all-reduced"]
    note = (f"From {path.as_posix()}: float32, torch-cpu (one process) and torch-ddp timed interleaved in one run. "
            "Parallel efficiency: the one-thread single-process time over processes x their time. The exposed "
            "share: a step's time beyond the same step without DDP's all-reduce (no_sync), median of 5 pairs.")
    return columns, rows, note


def _inverse(interval: stats.Interval | None) -> stats.Interval | None:
    return stats.Interval(1 / interval.high, 1 / interval.low) if interval else None

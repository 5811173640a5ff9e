"""What ``bench run`` prints at the end: harness overhead, peaks, one row per case, and the load."""

from __future__ import annotations

import math

import pandas as pd

from implementations.registry import LOOP_BASELINE, role_of

from .formatting import first_names, seconds, times
from .measurement import Measurement, measurements
from .suspect import suspects


def speedup_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per timed case of the newest run: seconds per step and ``loops / X`` within its config.

    ``loops / X`` is empty where the config has no successful loops case. ``cpu/wall`` is the
    median process CPU time over wall time of the rounds (about the cores the case kept busy; of
    every rank together where a step spans ``processes``; ``threads`` are per process).
    """
    cases = [m for m in measurements(frame) if m.ok]
    columns = ["config", "batch", "backend", "dtype", "processes", "threads", "repeats", "rounds", "median_s",
               "cpu_wall", "contended", "loops_over_x"]
    if not cases:
        return pd.DataFrame(columns=columns)
    loops = {(m.machine, m.key.config, m.key.batch_size): m.time for m in cases
             if role_of(m.key.backend) == LOOP_BASELINE}
    rows = [(m.key.config, m.key.batch_size, m.key.backend, m.key.dtype, m.key.world_size, m.key.threads,
             m.repeat_count, m.rounds,
             m.time, m.cpu_share,
             int(m.contended.sum()), loops.get((m.machine, m.key.config, m.key.batch_size), math.nan) / m.time)
            for m in cases]
    return pd.DataFrame(rows, columns=columns)


def format_speedups(frame: pd.DataFrame) -> str:
    table = speedup_table(frame)
    if table.empty:
        return "no successful case to summarize"
    shown = table.assign(
        median_s=table["median_s"].map(seconds),
        cpu_wall=table["cpu_wall"].map(lambda r: "" if pd.isna(r) else f"{r:.2f}"),
        loops_over_x=table["loops_over_x"].map(lambda r: "" if pd.isna(r) else times(r, "x")),
    ).rename(columns={"median_s": "time / step", "loops_over_x": "loops / X", "cpu_wall": "cpu/wall"})
    return shown.to_string(index=False)


def format_suspects(frame: pd.DataFrame) -> str:
    """One line per number that cannot be true (``bench.suspect``), or nothing."""
    cases = [m for m in measurements(frame) if m.ok]
    peaks = [m for m in measurements(frame, harness=True) if m.ok and m.key.model == "peak"]
    reasons = suspects(cases, peaks)
    return "\n".join(f"suspect: {where[2].label}: {'; '.join(why)}" for where, why in sorted(reasons.items(),
                                                                                      key=lambda kv: kv[0][2]))


def format_blind_spots(frame: pd.DataFrame) -> str:
    """One line per verified case with tensors whose bound reached 1% (a 1% fault there would pass)."""
    return "\n".join(f"blind spots: {m.key.label}: bounds of 1% or more (a 1% fault would pass) on "
                     f"{len(m.blind_spots)} tensor(s): {first_names(list(m.blind_spots))}"
                     for m in measurements(frame) if m.ok and m.blind_spots)


def format_harness(frame: pd.DataFrame) -> str:
    """Harness overhead (noop) and the machine's peak GEMM rate, one line each."""
    lines = []
    harness = [m for m in measurements(frame, harness=True) if m.ok and m.key.model in ("noop", "peak")]
    for m in harness:
        if m.key.model == "noop":
            lines.append(f"harness overhead (no-op case): {m.time * 1e9:.0f} ns per call "
                         f"(median of {m.rounds} rounds)")
    for m in harness:
        if m.key.model == "peak":
            rate = (f"{m.bytes / m.time / 1e9:,.1f} GB/s (read + written)" if m.bytes
                    else f"{m.flops / m.time / 1e9:,.1f} GFLOP/s")
            lines.append(f"peak {m.key.backend} {m.key.config} {m.key.threads}t: {rate}")
    return "\n".join(lines)


BUSY_SHARE = 0.05  # more contended rounds than this: the closing summary warns that the machine was busy


def format_load(items: list[Measurement]) -> str:
    """One line on how busy the machine was: contended rounds, other processes' load, steal."""
    timed = [m for m in items if m.ok]
    rounds = sum(m.rounds for m in timed)
    if not rounds:
        return ""
    contended = sum(int(m.contended.sum()) for m in timed)
    line = f"machine load: {contended} of {rounds} rounds contended"
    if contended:
        worst = sorted(timed, key=lambda m: -m.contended_share)[:3]
        line += (" (most: " + ", ".join(f"{m.key.label} {m.contended_share:.0%}" for m in worst) +
                 "); contended rounds are left out of every statistic")
    if contended / rounds > BUSY_SHARE:
        line += (f". The machine looked busy ({contended / rounds:.0%} of the rounds): measure again on a quieter "
                 "machine before trusting these numbers")
    return line


"""Small summaries of the report's long tables, one row per machine or config: what the report
shows where the full table (every row, as CSV beside the report, ``outline._attachments``) would
fill pages."""

from __future__ import annotations

import numpy as np

from implementations.registry import order_key
from .cases import Case
from .machines import RungAcross
from . import flags
from .measured_tables import compute_bound_fit, exponent_fit, problem_flag, problem_rows
from .tables import Table
from ..formatting import times
from ..stats import NOISY

SKIPPED_CONFIGS_NAMED = 3  # a skipped group naming more configs than this gives their count


def machines_pivot_table(machines: list, rows: list[RungAcross]) -> Table:
    """``machines_table`` in a row per config: each machine's time over the reference's, the
    median over the rungs both ran and the lowest and highest of them (every rung's ratio, with its
    interval, is in machines.csv). A machine that shares no rung with the reference (two GPU
    machines share only GPU rungs) has no column; the note names it."""
    reference = machines[0]
    others = [m for m in machines[1:] if any(m in r.over_reference for r in rows)]
    apart = [m for m in machines[1:] if m not in others]
    configs = list(dict.fromkeys(f"{r.config} ({r.batch_size})" for r in rows))
    out = []
    for config in configs:
        cells = []
        for m in others:
            ratios = sorted(r.over_reference[m].value for r in rows
                            if f"{r.config} ({r.batch_size})" == config and m in r.over_reference)
            if not ratios:
                cells.append("-")
            elif len(ratios) == 1:
                cells.append(f"{times(ratios[0])} (1 rung)")
            else:
                cells.append(f"{times(float(np.median(ratios)))} ({times(ratios[0])} to {times(ratios[-1])}, "
                             f"{len(ratios)} rungs)")
        out.append([config, *cells])
    note = ("Above 1×: that machine takes longer than the reference. Each rung's ratio with its 95% interval is "
            "in machines.csv.")
    if apart:
        note += f" No rung in common with {reference}: {', '.join(map(str, apart))} (their times are in the ladders)."
    return Table(f"Each machine's time per step over that of {reference}, by config: the median over the rungs both "
                 "ran (lowest to highest)", ["config (batch)", *map(str, others)], out, [],
                 [1.3] + [2.0] * max(1, len(others)), note)


def noisy_pivot_table(cases: list[Case]) -> Table:
    """How many of each machine's measured cases are noisy, by backend (noisy.csv lists them)."""
    measured = [c for c in cases if c.ok]
    backends = sorted({c.backend for c in measured}, key=order_key)
    machines = list(dict.fromkeys(c.machine for c in measured))
    rows, row_flags = [], []
    for machine in machines:
        mine = [c for c in measured if c.machine == machine]
        cells = []
        for backend in [*backends, None]:
            of = [c for c in mine if backend is None or c.backend == backend]
            cells.append(f"{sum(c.noisy for c in of)} of {len(of)}" if of else "-")
        rows.append([machine, *cells])
        row_flags.append(flags.NOISY if any(c.noisy for c in mine) else "")
    return Table(f"Noisy cases (IQR / median over rounds above {NOISY:.0%}) of each machine, by backend",
                 ["machine", *backends, "all"], rows, row_flags, [2.6] + [0.8] * (len(backends) + 1),
                 "Noisy is not wrong: the interval of a noisy case is wider (and its ladder row amber). Each noisy "
                 "case, its rounds and spread, is in noisy.csv.")


def problems_pivot_table(cases: list[Case]) -> Table:
    """``problems_table`` with a skipped group's configs counted past ``SKIPPED_CONFIGS_NAMED``
    (failed-and-skipped.csv names every one), and no batch column."""
    rows = [[machine, config, what, status, reason]
            for machine, config, _, what, status, reason in problem_rows(cases, SKIPPED_CONFIGS_NAMED)]
    return Table("Failed and skipped cases", ["machine", "config", "cases", "status", "error or reason"],
                 rows, [problem_flag(row[3]) for row in rows], [2.4, 1.1, 2.2, 0.6, 4.5])


def scaling_pivot_table(sweeps: dict, flops_fits: dict) -> Table:
    """The exponent k over each line's compute-bound widths, a row per line and a column per machine,
    and the recorded FLOPs' exponent under them (scaling.csv: every width, fit and flag)."""
    machines = list(sweeps)
    lines = {(l.backend, l.dtype, l.threads): l.label for ls in sweeps.values() for l in ls}
    rows, row_flags = [], []
    for key in sorted(lines, key=lambda k: (order_key(k[0]), k[1], k[2])):
        found = {m: next((l for l in sweeps[m] if (l.backend, l.dtype, l.threads) == key), None) for m in machines}
        rows.append([lines[key], *(compute_bound_fit(l, compact=True) if l else "-" for l in found.values())])
        row_flags.append(flags.worst(flags.of_case(c) for l in found.values() if l for c in l.cases))
    rows.append(["FLOPs per step (recorded)", *(exponent_fit(flops_fits[m]) if flops_fits.get(m) else "-" for m in machines)])
    row_flags.append("")
    return Table("Fitted exponent k of time ∝ width^k over the compute-bound widths [95% CI], mlp-width-N",
                 ["line", *map(str, machines)], rows, row_flags, [1.8] + [2.0] * len(machines),
                 "Least squares on log(median time) vs log(width) over the widths where the line's FLOP rate is at "
                 "least half its best; launch-bound: the rate still grows (by the factor given) over the widest "
                 "widths, so no exponent of the arithmetic. Every width, the fit over all widths and the flags are "
                 "in scaling.csv.")

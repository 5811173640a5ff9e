"""The tables of what was measured beside the ladders: the width sweep's fits, efficiency against
the peaks, the environment, the noisy, failed and skipped cases and the stage breakdowns; mostly
attached in full as CSV, summarised in the report by ``pivots``."""

from __future__ import annotations

import math

from . import flags
from .cases import Case
from .efficiency import Efficiency, Peak
from .environment import Environment
from .scaling import SweepLine
from .tables import Table
from implementations.registry import order_key
from ..formatting import number, seconds
from ..breakdown import Breakdown
from ..stats import NOISY


def exponent_fit(fit) -> str:
    if fit is None:
        return "-"
    if math.isnan(fit.low):
        return f"{fit.exponent:.2f} (2 points, no interval)"
    return f"{fit.exponent:.2f} [{fit.low:.2f}, {fit.high:.2f}]"


def _sweep_flags(line: SweepLine) -> str:
    """A line's flags by kind, naming the widths: "noisy at 64, 128; suspect at 2048 (...)"."""
    def at(cases) -> str:
        widths = [str(int(w)) for w, c in zip(line.widths, line.cases) if c in cases]
        if len(widths) > 4:  # a long list would fill the page; how many says as much
            return f"{len(widths)} of {len(line.widths)} widths"
        return ", ".join(widths)
    noisy = [c for c in line.cases if c.noisy]
    contended = [c for c in line.cases if c.ok and c.contended.any()]
    suspect = [c for c in line.cases if c.suspect]
    parts = []
    if noisy:
        parts.append(f"noisy (IQR/median > {NOISY:.0%}) at {at(noisy)}")
    if contended:
        parts.append(f"contended rounds left out at {at(contended)}")
    if suspect:  # one reason shown: the rest differ in their figures, and the per-case tables list them
        first = suspect[0]
        parts.append(f"SUSPECT at {at(suspect)}: at {int(line.widths[line.cases.index(first)])}, {first.suspect}"
                     + (" (the other widths alike)" if len(suspect) > 1 else ""))
    return "; ".join(parts)


def _widths(widths) -> str:
    """``64, 128, 256`` for a few widths; ``64..2048 (13)`` for many."""
    values = [str(int(w)) for w in widths]
    return ", ".join(values) if len(values) <= 5 else f"{values[0]}..{values[-1]} ({len(values)})"


def compute_bound_fit(line: SweepLine, compact: bool = False) -> str:
    """The exponent over the line's compute-bound widths, or why it has none (``compact``: in a
    word, for a cell of a column per machine)."""
    span = f"widths {line.bound_from}-{int(line.widths[-1])}"
    if line.fit_wide is None:
        return "-"
    if line.compute_bound:
        return exponent_fit(line.fit_wide) if compact else f"{exponent_fit(line.fit_wide)} ({span})"
    # the rate still climbs with the arithmetic: time set by launches or calls, not by it
    if compact:
        return f"launch-bound (rate ×{line.rate_growth:.1f})"
    return (f"none: the FLOP rate still grows {line.rate_growth:.1f}x over {span} (launch-bound; "
            f"k there {exponent_fit(line.fit_wide)})")


SCALING_COLUMNS = ["backend", "widths", "k, all widths [95% CI]", "k, compute-bound widths [95% CI]", "flags"]


def scaling_table(lines: list[SweepLine], machine: str, flops_fit) -> Table:
    rows = []
    mine = [l for l in lines if l.machine == machine]
    for line in mine:
        rows.append([line.label, _widths(line.widths), exponent_fit(line.fit_all), compute_bound_fit(line), _sweep_flags(line)])
    if flops_fit is not None:
        rows.append(["FLOPs per step (recorded)", "", "", exponent_fit(flops_fit), ""])
    return Table(f"Fitted exponent k of time ∝ width^k, mlp-width-N on {machine}",
                 SCALING_COLUMNS, rows,
                 [flags.worst(map(flags.of_case, l.cases)) for l in mine] + ([""] if flops_fit else []),
                 [1.5, 1.6, 1.4, 2.2, 3.0],
                 "Least squares on log(median time) vs log(width); the 95% interval is the slope's standard "
                 "error times Student's t with n-2 degrees of freedom (it reflects scatter about a power law, "
                 "not only timing noise).")


def scalings_table(sweeps: dict, flops_fits: dict) -> Table:
    """Every machine's ``scaling_table`` in one, a machine column first (scaling.csv)."""
    rows, row_flags = [], []
    for machine, lines in sweeps.items():
        own = scaling_table(lines, machine, flops_fits.get(machine))
        rows += [[str(machine), *row] for row in own.rows]
        row_flags += own.flags
    return Table("Fitted exponent k of time ∝ width^k, mlp-width-N, every machine",
                 ["machine", *SCALING_COLUMNS], rows, row_flags)


def efficiency_table(effs: list[Efficiency]) -> Table:
    rows = []
    for e in effs:
        c = e.case
        peak = f"{number(e.peak.gflops)} ({e.peak.config}, {e.matched})" if e.peak else e.matched
        frac = f"{e.fraction * 100:.3g}%" if e.peak else "-"
        rows.append([c.machine, c.config, str(c.batch_size), c.label, seconds(c.median), number(e.gflops),
                     peak, frac, c.flags])
    return Table("Achieved GFLOP/s against the machine's measured GEMM peak",
                 ["machine", "config", "batch", "backend", "median time / step", "GFLOP/s", "peak GFLOP/s (GEMM, match)",
                  "of peak", "flags"], rows, [flags.of_case(e.case) for e in effs],
                 [1.4, 1.1, 0.5, 1.6, 1.0, 0.8, 2.4, 0.7, 1.3],
                 "GFLOP/s = recorded analytic FLOPs per step / median seconds per step / 1e9.")


PRECISIONS = ("float64", "float32", "tf32", "bfloat16")


def peaks_table(peaks: list[Peak]) -> Table:
    """The best GEMM GFLOP/s per machine and device, a column per precision, each thread count
    measured (the efficiency of a case is taken against its own run's peak where there is one)."""
    best: dict[tuple, Peak] = {}
    for p in peaks:
        key = (p.machine, p.device, p.precision, p.threads)
        if key not in best or p.gflops > best[key].gflops:
            best[key] = p
    rows = []
    for machine, dev in sorted({(m, d) for m, d, _, _ in best}):
        cells = []
        for precision in PRECISIONS:
            found = sorted((k[3], p) for k, p in best.items() if k[:3] == (machine, dev, precision))
            cells.append(", ".join(number(p.gflops) + ("" if dev == "gpu" else f" ({t} thread{'s' if t > 1 else ''})")
                                   for t, p in found) or "-")
        rows.append([machine, dev.upper(), *cells])  # the runs: the environment table's run ids
    return Table("Measured peak GFLOP/s (the best matrix product per machine, device, precision and threads)",
                 ["machine", "device", *PRECISIONS], rows, [], [2.6, 0.5, 1.5, 1.5, 0.8, 0.8])


def environment_table(envs: list[Environment], leave_out: tuple[str, ...] = ()) -> Table:
    """One row per field, one column per machine; ``leave_out``: fields given elsewhere."""
    fields = [k for k, _ in envs[0].rows if k not in leave_out] if envs else []
    rows = [[f] + [dict(e.rows)[f] for e in envs] for f in fields]
    title = "Environment of each machine" + (" (beside the first page's: " + ", ".join(leave_out) + ")"
                                             if leave_out else "")
    return Table(title, ["field"] + [e.machine for e in envs], rows, [], [1.2] + [5.0 / max(1, len(envs))] * len(envs))


def skipped_groups(cases: list[Case]) -> dict[tuple[str, str, str], list[Case]]:
    """The cases that did not run, by (machine, status, reason): a machine without a GPU skips
    every GPU case for one reason."""
    groups: dict[tuple[str, str, str], list[Case]] = {}
    for c in cases:
        if not c.ok and c.status != "failed":
            groups.setdefault((c.machine, c.status, c.error or "no reason recorded"), []).append(c)
    return groups


def problem_rows(cases: list[Case], configs_named: int | None = None) -> list[list[str]]:
    """[machine, config, batch, case(s), status, error or reason]: failed cases one per row (each
    is a finding), skipped cases one row per machine and reason (``skipped_groups``), with how many
    and which; a group's configs all named, or counted where more than ``configs_named``."""
    rows = [[c.machine, c.config, str(c.batch_size), c.label, c.status, c.error or "no reason recorded"]
            for c in cases if c.status == "failed"]
    for (machine, status, reason), group in skipped_groups(cases).items():
        configs = list(dict.fromkeys(f"{c.config}@{c.batch_size}" for c in group))
        named = (", ".join(configs) if configs_named is None or len(configs) <= configs_named
                 else f"{len(configs)} configs")
        backends = ", ".join(dict.fromkeys(c.backend for c in group))
        rows.append([machine, named, "-", f"{len(group)} cases: {backends}", status, reason])
    return rows


def problem_flag(status: str) -> str:
    """A failed case is wrong; a skipped one did not run."""
    return flags.WRONG if status == "failed" else flags.ABSENT


def problems_table(cases: list[Case]) -> Table:
    """Every failed and skipped case (failed-and-skipped.csv; the report counts a group's configs)."""
    rows = problem_rows(cases)
    return Table("Failed and skipped cases", ["machine", "config", "batch", "backend", "status", "error or reason"],
                 rows, [problem_flag(row[4]) for row in rows], [1.4, 1.6, 0.5, 1.6, 0.7, 3.5])


def noisy_table(cases: list[Case]) -> Table:
    noisy = [c for c in cases if c.noisy]
    rows = [[c.machine, c.config, str(c.batch_size), c.label, str(c.rounds), seconds(c.median), f"{c.noise:.0%}"]
            for c in noisy]
    return Table(f"Noisy cases (IQR / median over rounds above {NOISY:.0%})",
                 ["machine", "config", "batch", "backend", "rounds", "median time / step", "IQR / median"],
                 rows, [flags.NOISY] * len(rows), [1.4, 1.1, 0.5, 1.6, 0.6, 1.1, 0.9])


def _by_config(found: list[Breakdown]) -> list[Breakdown]:
    """The figure's order: ResNet-50 at 32 px before 224, then the ladder's backend order."""
    return sorted(found, key=lambda b: (b.key.resolution, b.key.batch_size, b.key.config,
                                        order_key(b.key.backend), b.key.dtype, b.key.threads))


BREAKDOWN_NOTE = ("One instrumented step per case after its timed rounds (the loops step: the timed step itself); "
                  "its parts sum to that step, which may differ from the case's median.")


def breakdowns_table(by_machine: dict) -> Table:
    """Every instrumented step's parts, a row per part in the order it ran (stages.csv): the
    figure's bars in seconds, with each part's share of its step."""
    rows = [[str(machine), b.key.config, str(b.key.batch_size), b.key.short, part, f"{value:.6g}", f"{value / b.total:.4f}"]
            for machine, found in by_machine.items() for b in _by_config(found) for part, value in b.parts.items()]
    return Table("Where the time of one ResNet-50 step goes: every part of every instrumented step",
                 ["machine", "config", "batch", "case", "part", "seconds", "share of step"], rows, [], note=BREAKDOWN_NOTE)

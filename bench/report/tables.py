"""Every table of the report as plain strings, rendered alike by the HTML, PDF and Markdown writers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import flags
from .cases import Case
from .claims import Claim
from .efficiency import Efficiency, Peak
from .environment import Environment
from .ladder import Ladder, Speedup, ThroughputLine, shown_rungs
from .machines import RungAcross
from implementations.registry import order_key
from .scaling import SweepLine
from ..formatting import number, seconds, times
from ..measurement import Breakdown
from ..stats import NOISY


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    flags: list[str] = field(default_factory=list)  # each row's flag (``flags``: "" for none), its colour
    widths: list[float] = field(default_factory=list)  # relative column widths for the PDF
    note: str = ""

    def __post_init__(self):  # cells are text (a machine key, a number) whatever their source
        object.__setattr__(self, "rows", [[str(cell) for cell in row] for row in self.rows])


def speedup(s: Speedup | None, compact: bool = False) -> str:
    """``1.03× [0.95×, 1.12×]``; ``compact``: ``1.03× (0.95-1.1)``, the bounds to two digits, for
    tables with a column per machine (the CSV beside the report has three)."""
    if s is None:
        return "-"
    if not s.has_interval:
        return f"{times(s.value)} ({'1 round, no CI' if compact else 'one round: no interval'})"
    if compact:
        return f"{times(s.value)} ({number(s.low, 2)}-{number(s.high, 2)})"
    return f"{times(s.value)} [{times(s.low)}, {times(s.high)}]"


LADDER_COLUMNS = ["rung", "changes", "median time / step", "× over rung below [95% CI]", "× over loops [95% CI]",
                  "rounds", "flags"]


def ladder_table(ladder: Ladder) -> Table:
    rows, row_flags = [], []
    for rung in ladder.rungs:
        case = rung.case
        if rung.measured:
            status = seconds(case.median)
            rounds = str(case.rounds)
        else:
            status, rounds = rung.state, "-"
        rows.append([rung.spec.name, rung.spec.change, status, _over_below(ladder, rung), speedup(rung.over_loops), rounds,
                     case.flags if rung.measured else ""])
        row_flags.append(rung.flag)
    res = f", {ladder.resolution} px" if ladder.resolution else ""
    return Table(
        f"{ladder.config} on {ladder.machine} (batch {ladder.batch_size}{res}; all cores = {ladder.all_cores} threads)",
        LADDER_COLUMNS, rows, row_flags, [1.6, 1.5, 1.4, 2.1, 2.1, 0.6, 1.6])


def ladders_table(ladders: list[Ladder]) -> Table:
    """Every ladder's full rows in one table, a machine and config column first (the CSV beside the report)."""
    rows, row_flags = [], []
    for ladder in ladders:
        own = ladder_table(ladder)
        rows += [[str(ladder.machine), ladder.config, str(ladder.batch_size), *row] for row in own.rows]
        row_flags += own.flags
    return Table("Every rung of every ladder", ["machine", "config", "batch", *LADDER_COLUMNS], rows, row_flags)


def _over_below(ladder: Ladder, rung, compact: bool = False) -> str:
    """The multiplier over the rung below, naming that rung when it is not the row above (a rung
    measured against the one below a missing or side rung)."""
    text = speedup(rung.over_below, compact=compact)
    index = ladder.rungs.index(rung)
    above = ladder.rungs[index - 1].spec.name if index > 0 else ""
    if rung.over_below is not None and rung.over_below.over != above:
        text += f" (over {rung.over_below.over})"
    return text


def _state(rung) -> str:
    """A rung's time, or in one word why it has none (the reason is under Failed and skipped)."""
    return seconds(rung.case.median) if rung.measured else rung.state.split(":")[0]


def _compact_cell(ladder: Ladder, rung) -> str:
    """One machine's rung on one line: its time and its multiplier over the rung below (none where
    not measured: the cell says why in a word). The multiplier over loops is written beside each
    bar of the ladder figure and, with its interval, in ladders.csv."""
    if rung is None or not rung.measured:
        return "not measured" if rung is None else _state(rung)
    below = _over_below(ladder, rung, compact=True)
    return seconds(rung.case.median) if below == "-" else f"{seconds(rung.case.median)}; {below}"


def ladder_compact_table(group: list[Ladder]) -> Table:
    """One config's ladders on every machine in one table, a column per machine: the time and the
    multiplier over the rung below; every rung's full row is in ``ladders_table``."""
    names, left_out = shown_rungs(group)
    changes = {r.spec.name: r.spec.change for l in group for r in l.rungs}
    rows, row_flags = [], []
    for name in names:
        rungs = [ladder.rung(name) for ladder in group]
        rows.append([name, changes[name], *(_compact_cell(l, r) for l, r in zip(group, rungs))])
        # a machine that did not run the rung says so in its cell; the row is coloured by what ran
        row_flags.append(flags.worst(r.flag for r in rungs if r is not None and r.flag != flags.ABSENT))
    first = group[0]
    res = f", {first.resolution} px" if first.resolution else ""
    note = ("Not run on any machine here: " + "; ".join(f"{name} ({why})" for name, why in left_out.items()) + "."
            if left_out else "")
    return Table(f"{first.config} (batch {first.batch_size}{res}) on {len(group)} machine(s): time per step, "
                 "× over the rung below (95% CI)", ["rung", "changes", *(str(l.machine) for l in group)],
                 rows, row_flags, [2.1, 1.8] + [1.75] * len(group), note=note)


def machines_table(machines: list, rows: list[RungAcross]) -> Table:
    reference = machines[0]
    others = machines[1:]
    columns = ["config (batch)", "rung", *[f"{m}: time / step" for m in machines],
               *[f"{m} / {reference} [95% CI]" for m in others]]
    out = []
    for r in rows:
        times_ = [seconds(r.cases[m].median) if m in r.cases else "-" for m in machines]
        ratios = [speedup(r.over_reference.get(m)) for m in others]
        out.append([f"{r.config} ({r.batch_size})", r.rung, *times_, *ratios])
    return Table(f"The same rung on {len(machines)} machines: time per step, and each machine's time over that "
                 f"of {reference}", columns, out, [], [1.3, 1.6] + [1.0] * len(machines) + [1.6] * len(others),
                 "Above 1×: that machine takes longer than the reference at that rung. Intervals as in the ladder.")


def claim_flag(verdict: str) -> str:
    """A claim's row: red where the measurements contradict it, grey where they cannot decide."""
    if verdict == "does not hold":
        return flags.WRONG
    return "" if verdict.startswith("holds") else flags.ABSENT


def claims_table(claims: list[Claim], measured: bool = True) -> Table:
    """Each claim quoted, its verdict and what decides it; ``measured``: with everything measured
    for it (claims.csv; the report gives each verdict's evidence on its first page instead)."""
    rows = [["\n".join(f"“{q}”" for q in c.quotes), c.article, *(["\n".join(c.measured)] if measured else []),
             c.verdict, c.decided_by] for c in claims]
    sources = "; ".join(dict.fromkeys(f"{c.article}: {c.source}" for c in claims))
    return Table("Claims of the seed articles against the measurements",
                 ["claim (verbatim)", "article", *(["measured"] if measured else []), "verdict", "decided by"], rows,
                 [claim_flag(c.verdict) for c in claims],
                 [2.0, 1.1, *([3.9] if measured else []), 0.8, 2.4],
                 note=f"The articles, in the seed folder: {sources}." if sources else "")


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


def throughput_compact_table(lines: list[ThroughputLine]) -> Table:
    """Images/s, a row per (machine, backend case) and a column per batch size."""
    batches = sorted({b for line in lines for b, _, _ in line.points})
    rows = []
    for line in lines:
        rate = {b: r for b, r, _ in line.points}
        rows.append([str(line.machine), line.case_label,
                     *[number(rate[b]) if b in rate else "-" for b in batches]])
    return Table("ResNet-50 at 224 px: images / s by batch size (vectorized backends)",
                 ["machine", "backend", *[f"batch {b}" for b in batches]], rows,
                 [flags.worst(flags.of_case(c) for _, _, c in line.points) for line in lines],
                 [1.8, 1.8] + [1.0] * len(batches))


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
        runs = sorted({p.run_id for k, p in best.items() if k[:2] == (machine, dev)})
        rows.append([machine, dev.upper(), *cells, ", ".join(runs)])
    return Table("Measured peak GFLOP/s (the best matrix product per machine, device, precision and threads)",
                 ["machine", "device", *PRECISIONS, "run(s)"], rows, [], [2.6, 0.5, 1.3, 1.3, 0.8, 0.8, 1.9])


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


def problems_table(cases: list[Case]) -> Table:
    """Failed cases one per row (each is a finding); skipped cases one row per machine and reason,
    with how many and which."""
    rows = [[c.machine, c.config, str(c.batch_size), c.label, c.status, c.error or "no reason recorded"]
            for c in cases if c.status == "failed"]
    for (machine, status, reason), group in skipped_groups(cases).items():
        configs = ", ".join(dict.fromkeys(f"{c.config}@{c.batch_size}" for c in group))
        backends = ", ".join(dict.fromkeys(c.backend for c in group))
        rows.append([machine, configs, "-", f"{len(group)} cases: {backends}", status, reason])
    return Table("Failed and skipped cases", ["machine", "config", "batch", "backend", "status", "error or reason"],
                 rows, [flags.WRONG if row[4] == "failed" else flags.ABSENT for row in rows],
                 [1.4, 1.6, 0.5, 1.6, 0.7, 3.5])


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

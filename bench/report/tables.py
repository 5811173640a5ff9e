"""The report's table record (plain strings, rendered alike by the HTML, PDF and Markdown writers)
and the tables of the ladders, the machines side by side, the claims and the throughput; the
tables of what else was measured are in ``measured_tables``."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import flags
from .claims import Claim
from .ladder import Ladder, Speedup, ThroughputLine, shown_rungs
from .machines import RungAcross
from ..formatting import number, seconds, times


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
        below = ladder.rung(rung.over_below.over)
        # compact: the rung by its case's short name (``numba float64 1t``), so that the cell keeps one line
        name = below.case.key.short_compact if compact and below and below.case else rung.over_below.over
        text += f" (over {name})"
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
                 rows, row_flags, [2.0, 2.2] + [1.7] * len(group), note=note)


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
    """A claim's row: red where the measurements contradict it, grey where nothing measured it
    (an inconclusive verdict was measured: no colour, its words say it)."""
    if verdict == "does not hold":
        return flags.WRONG
    return flags.ABSENT if verdict == "not measured" else ""


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

"""What a user reads of a check: the verdict tables and the summary line, for both rules."""

from __future__ import annotations

import math

from ..formatting import first_names, seconds
from ..measurement import Measurement
from ..suspect import suspects
from .judge import ALPHA, MAX_CONTENDED, UNJUDGED_SHARE, cannot_say
from .thresholds import Thresholds
from .verdicts import Outcome, Verdict


def _percent(factor: float, digits: int) -> str:
    return f"{(factor - 1) * 100:+.{digits}f}%"


def _threshold(v: Verdict) -> str:
    return _percent(v.threshold, 0) if math.isfinite(v.threshold) else "-"


def _aligned(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the last as is, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join([cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:-1], widths[1:-1])),
                                cells[-1]]) for cells in [header, *rows])


# -- paired ------------------------------------------------------------------------------------------
def paired_table(verdicts: list[Verdict]) -> str:
    rows = [(v.name, "-" if math.isnan(v.change) else _percent(v.change, 1), _threshold(v), str(v.pairs), v.verdict)
            for v in verdicts]
    return _aligned(("quantity", "change", "threshold", "pairs", "verdict"), rows)


def _changed(v: Verdict) -> str:
    return "lost" if v.outcome is Outcome.LOST else _percent(v.change, 0)


def paired_summary(verdicts: list[Verdict]) -> str:
    regressions = [v for v in verdicts if v.regression]
    gated = [v for v in verdicts if v.gated]
    line = (f"{len(verdicts)} quantities compared ({len(gated)} gated), {len(regressions)} "
            f"regression{'' if len(regressions) == 1 else 's'}")
    if regressions:
        return line + ": " + "; ".join(f"{v.name} ({_changed(v)})" for v in regressions)
    missing = cannot_say(verdicts)
    if missing:
        return (line + f"; NO VERDICT: {len(missing)} gated quantities could not be judged (too few uncontended "
                f"pairs): {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}")
    unjudged = [v for v in verdicts if v.unjudged]
    if unjudged:
        line += (f"; {len(unjudged)} gated case(s) not judged (at most {UNJUDGED_SHARE:.0%} may be): "
                 + ", ".join(v.name for v in unjudged))
    return line


# -- stored baseline ---------------------------------------------------------------------------------
def stored_table(verdicts: list[Verdict]) -> str:
    rows = [(v.name, seconds(v.baseline) if v.kind == "case" else "-", seconds(v.current) if v.kind == "case" else "-",
             _percent(v.change, 1), _threshold(v), f"{v.p_value:.2g}", v.verdict) for v in verdicts]
    return _aligned(("backend or case", "baseline", "current", "change", "threshold", "p", "verdict"), rows)


def stored_summary(verdicts: list[Verdict]) -> str:
    regressions = [v for v in verdicts if v.regression]
    gated = [v for v in verdicts if v.gated]
    cases = [v for v in verdicts if v.kind == "case"]
    line = (f"{len(verdicts) - len(cases)} backends and {len(cases)} cases compared, {len(gated)} gated, "
            f"{len(regressions)} regression{'' if len(regressions) == 1 else 's'}")
    if regressions:
        return line + ": " + ", ".join(f"{v.name} ({_percent(v.change, 0)})" for v in regressions)
    unjudged = [v for v in verdicts if v.unjudged]
    if any(v.outcome is Outcome.MACHINE_WIDE for v in unjudged):
        return line + ("; every backend was slower alike: the machine, or a change of all of them, cannot be told "
                       "apart from one run; measure again, and compare with --against on one machine")
    if unjudged:
        return line + (f"; the machine was contended: {len(unjudged)} gated case(s) could not be judged ("
                       + ", ".join(v.name for v in unjudged[:5]) + "); run the check again on a quiet machine")
    return line


def describe_runs(items: list[Measurement]) -> str:
    """``3 runs (run a, run b, run c; quick profile, commit 0123456789ab)``."""
    runs = sorted({run for m in items for run in m.run_id.split("+")})
    commits = sorted({m.git_commit[:12] for m in items})
    profiles = sorted({m.profile for m in items})
    shown = ", ".join(f"run {r}" for r in runs[:4]) + (f" and {len(runs) - 4} more" if len(runs) > 4 else "")
    return (f"{len(runs)} run{'s' if len(runs) != 1 else ''} ({shown}; {'/'.join(profiles)} profile, commit "
            f"{', '.join(commits)})")


def print_stored(verdicts: list[Verdict], baseline: list[Measurement], current: list[Measurement],
                 thresholds: Thresholds, out, notes: tuple[str, ...] = ()) -> None:
    """The stored-baseline check's whole printout: what was compared, the table, what was not
    compared and why, suspect rounds, the summary line."""
    print(f"baseline: {describe_runs(baseline)}", file=out)
    print(f"results:  {describe_runs(current)}", file=out)
    print(f"thresholds: {thresholds.source} ({thresholds.machine})", file=out)
    print(f"a regression: a backend's median change over its cases, or a case's change, beyond its A/A threshold, "
          f"and a one-sided Mann-Whitney test over repeats at p < {ALPHA}; cases with more than "
          f"{MAX_CONTENDED:.0%} contended rounds are not judged", file=out)
    for note in notes:
        print(note, file=out)
    print(file=out)
    print(stored_table(verdicts), file=out)
    print(file=out)
    base_labels, current_labels = {m.key.label for m in baseline if m.ok}, {m.key.label for m in current if m.ok}
    missing = sorted(base_labels - current_labels)
    if missing:
        print(f"not in the results: {len(missing)} baseline case(s): {first_names(missing)}", file=out)
    unmeasured = sorted(current_labels - base_labels)  # e.g. a backend newer than this machine's baseline
    if unmeasured:
        print(f"no baseline time, not compared: {len(unmeasured)} case(s): {first_names(unmeasured)}", file=out)
    untimed: dict[tuple[str, str], list[str]] = {}
    for m in current:
        if not m.ok:
            untimed.setdefault((m.status, m.error), []).append(m.key.label)
    for (status, error), labels in untimed.items():
        print(f"{status} in the results, not compared: {len(labels)} case(s) ({', '.join(labels[:3])}"
              f"{', ...' if len(labels) > 3 else ''}): {error}", file=out)
    for where, why in sorted(suspects(current).items(), key=lambda kv: kv[0][2]):
        print(f"suspect in the results: {where[2].label}: {'; '.join(why)}", file=out)
    print(stored_summary(verdicts), file=out)

"""``bench noise --paired``: the A/A study of CI's check, from ``bench check --against --keep``
folders of unchanged code. It sizes each quantity's sigma (``bench.regression.thresholds``), and
says how often the check so sized alarms on unchanged code: in sample (the study's own pairs) and
out of sample (each job judged by the thresholds of the others alone, as CI's check of a new day
is judged by thresholds from earlier ones).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from .. import stats
from ..errors import UsageError
from .judge import judge_pairs
from .pairs import Pairs, read_pairs
from .thresholds import (GATE_LIMIT, MIN_PAIRS, PairedThresholds, paired_from_data, paired_study_data, robust_sigma,
                         threshold_for, write_json, z_for)


def study(pairs: Pairs, ci_pairs: int) -> dict:
    """The thresholds file of an A/A study (both sides the same code): every quantity's sigma."""
    sigmas = {name: robust_sigma(d) for name, d in pairs.changes.items()}
    return paired_study_data(pairs.machine, pairs.pairs, sigmas, ci_pairs)


def false_alarms(pairs: Pairs, thresholds: PairedThresholds, draws: int = 1000,
                 seed: int = stats.SEED) -> tuple[int, int, list[str], float]:
    """The A/A study's pairs judged as CI would judge them, with the study's own thresholds (in
    sample, so optimistic): cut into consecutive checks of ``thresholds.pairs`` pairs (checks,
    checks with an alarm, what alarmed), and the share of ``draws`` checks of that many pairs drawn
    without replacement that alarm."""
    size = thresholds.pairs

    def alarmed(index) -> list[str]:
        part = Pairs(pairs.machine, size, {n: d[index] for n, d in pairs.changes.items()}, pairs.kinds)
        return [v.name for v in judge_pairs(part, thresholds) if v.regression]

    checks = pairs.pairs // size
    names = [alarmed(np.arange(k * size, (k + 1) * size)) for k in range(checks)]
    rng = np.random.default_rng(seed)
    drawn = [bool(alarmed(rng.choice(pairs.pairs, size, replace=False))) for _ in range(draws)] \
        if pairs.pairs > size else []
    return checks, sum(bool(n) for n in names), [x for n in names for x in n], \
        (float(np.mean(drawn)) if drawn else math.nan)


def _pooled(parts: list[Pairs]) -> Pairs:
    """Several jobs' pairs as one study, in job order (a quantity a job lacks is NaN there)."""
    names = sorted({n for p in parts for n in p.changes})
    changes = {n: np.concatenate([p.changes.get(n, np.full(p.pairs, np.nan)) for p in parts]) for n in names}
    kinds = {n: k for p in parts for n, k in p.kinds.items()}
    return Pairs(parts[0].machine, sum(p.pairs for p in parts), changes, kinds)


def run_paired_study(folders: list[str | Path], ci_pairs: int, write: str | Path | None = None, out=None) -> int:
    """``bench noise --paired``: the A/A study of CI's check from the pairs in ``folders`` (each a
    ``bench check --against --keep`` folder of unchanged code, pairs taken in folder order). Prints
    each quantity's sigma, its threshold at ``ci_pairs`` pairs and whether it is gated, and the
    false alarms of the study's own pairs cut into checks of ``ci_pairs``; writes the thresholds."""
    out = out or sys.stdout
    if ci_pairs < MIN_PAIRS:
        raise UsageError(f"--ci-pairs {ci_pairs}: must be at least {MIN_PAIRS}")
    parts = [read_pairs(folder) for folder in folders]
    if len({p.machine for p in parts}) != 1:
        raise UsageError("the folders come from more than one machine kind; study one kind at a time")
    everything = _pooled(parts)
    names, kinds = sorted(everything.changes), everything.kinds
    data = study(everything, ci_pairs)
    thresholds = paired_from_data(data, everything.machine, ci_pairs, "this study")
    gated = set(thresholds.gated_names(ci_pairs))
    z = z_for(len(gated))
    print(f"A/A study of the paired check: {everything.pairs} pairs from {len(parts)} job(s) on {everything.machine}; "
          f"thresholds for {ci_pairs} pairs (z {z:.2f} over {len(gated)} gated quantities)", file=out)
    print(f"{'quantity':<58} {'sigma':>7} {'threshold':>9}  gated", file=out)
    for name in sorted(names, key=lambda n: (kinds[n], n)):
        sigma = thresholds.sigmas[name]
        t = threshold_for(sigma, ci_pairs, z)
        shown = f"{(t - 1) * 100:+.0f}%" if math.isfinite(t) else "-"
        why = "yes" if name in gated else f"no: cannot see {GATE_LIMIT}x here"
        print(f"{name:<58} {sigma:>7.3f} {shown:>9}  {why}", file=out)
    checks, alarms, which, rate = false_alarms(everything, thresholds)
    print(f"false alarms, in sample (the study's own thresholds): {alarms} of {checks} consecutive checks of "
          f"{ci_pairs} pairs" + (f" ({', '.join(which)})" if which else "")
          + (f"; {rate:.1%} of 1000 checks of {ci_pairs} pairs drawn from the study" if rate == rate else ""), file=out)
    # Out of sample: each job's pairs judged by the thresholds of the other jobs alone (another
    # session's), as CI's check of a new day is judged by thresholds from earlier ones.
    for folder, part in zip(folders, parts) if len(parts) > 1 else ():
        rest = _pooled([p for p in parts if p is not part])
        others = paired_from_data(study(rest, ci_pairs), part.machine, ci_pairs, "the other jobs")
        checks, alarms, which, rate = false_alarms(part, others)
        print(f"false alarms, out of sample ({Path(folder).name} judged by the other jobs' thresholds): {alarms} of "
              f"{checks} consecutive checks of {ci_pairs} pairs" + (f" ({', '.join(which)})" if which else "")
              + (f"; {rate:.1%} of 1000 checks drawn from it" if rate == rate else ""), file=out)
    if write:
        write_json(write, data)
        print(f"thresholds written to {write}", file=out)
    return 0

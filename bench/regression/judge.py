"""The decision rules: pure functions from measurements and thresholds to typed verdicts.

**Paired (CI's, ``--against``)**: a quantity's change is ``exp(median of d over the pairs)``
(``bench.regression.pairs``); it regresses when that exceeds its threshold
(``bench.regression.thresholds``), or when a case that ran on the known-good side no longer runs.
A gated quantity with fewer than ``MIN_PAIRS`` usable pairs is not judged; the check has no verdict
(exit 3) when a backend, a speedup or the harness, or more than ``UNJUDGED_SHARE`` of the gated
cases, went unjudged.

**Stored baseline (``--baseline``)**: every case is judged on its own time (every backend, loops
included: a ratio such as ``loops / X`` would hide a slower loops backend, which only raises every
ratio), and every backend on the median over its cases of ``current / baseline``. Either needs its
change beyond its threshold and a one-sided Mann-Whitney test of the current repeats against the
baseline's at ``ALPHA`` (asv decides with a factor plus this test): a single unlucky repeat cannot
fail a check. A case with more than ``MAX_CONTENDED`` of its rounds contended is not judged; when
every gated backend regressed alike, the machine may be slower (``machine_wide``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import stats
from ..errors import UsageError
from ..measurement import Measurement
from .pairs import Pairs
from .thresholds import GATE_LIMIT, MIN_PAIRS, PairedThresholds, Thresholds
from .verdicts import EXIT_NO_VERDICT, EXIT_OK, EXIT_REGRESSION, Outcome, Verdict

ALPHA = 0.01  # of the Mann-Whitney test, per case (stored-baseline rule)
MAX_CONTENDED = 0.5  # a case with more of its rounds contended than this is not judged (stored-baseline rule)
UNJUDGED_SHARE = 0.1  # at most this share of the gated cases may stay unjudged (every backend judged)
_KIND_ORDER = {"backend": 0, "speedup": 1, "harness": 2, "case": 3}


# -- paired ------------------------------------------------------------------------------------------
def judge_pairs(pairs: Pairs, thresholds: PairedThresholds) -> list[Verdict]:
    """Every quantity of ``pairs`` judged: backends, speedups, the harness, then cases."""
    out = []
    for name in sorted(pairs.changes, key=lambda n: (_KIND_ORDER[pairs.kinds[n]], n)):
        d = pairs.changes[name]
        usable = d[~np.isnan(d)]
        threshold, gated = thresholds.threshold(name, usable.size)
        change = float(math.exp(np.median(usable))) if usable.size else math.nan
        v = Verdict(name, pairs.kinds[name], change, threshold, gated, pairs=int(usable.size))
        if name in pairs.lost:
            v.set(Outcome.LOST, pairs.lost[name])
        elif not gated:
            v.set(Outcome.NOT_GATED, "no A/A spread" if name not in thresholds.sigmas
                  else f"A/A spread too wide for {GATE_LIMIT}x")
        elif usable.size < MIN_PAIRS:
            v.set(Outcome.TOO_FEW_PAIRS, f"{usable.size} usable pair(s) of {pairs.pairs}")
        elif change > threshold:
            v.set(Outcome.REGRESSION)
        elif change < 1 / threshold:
            v.set(Outcome.FASTER)
        out.append(v)
    return out


def cannot_say(verdicts: list[Verdict]) -> list[str]:
    """The unjudged verdicts that leave a paired check without a verdict (empty: it has one)."""
    unjudged = [v for v in verdicts if v.unjudged]
    gated_cases = [v for v in verdicts if v.gated and v.kind == "case"]
    if any(v.kind != "case" for v in unjudged):
        return [v.name for v in unjudged]
    if gated_cases and len(unjudged) > UNJUDGED_SHARE * len(gated_cases):
        return [v.name for v in unjudged]
    return []


def paired_exit_code(verdicts: list[Verdict]) -> int:
    """0 no regression; 1 a regression; 3 no verdict (``cannot_say``)."""
    if any(v.regression for v in verdicts):
        return EXIT_REGRESSION
    return EXIT_NO_VERDICT if cannot_say(verdicts) else EXIT_OK


# -- stored baseline ---------------------------------------------------------------------------------
def _decide(verdict: Verdict, contended: float, p_faster: float, reason: str) -> Verdict:
    if not verdict.gated:
        return verdict.set(Outcome.NOT_GATED, reason)
    if contended > MAX_CONTENDED:
        return verdict.set(Outcome.CONTENDED, f"{contended:.0%} of the rounds")
    if verdict.change > verdict.threshold and verdict.p_value < ALPHA:
        return verdict.set(Outcome.REGRESSION)
    if verdict.change > verdict.threshold:
        return verdict.set(Outcome.SLOWER_NOT_SIGNIFICANT, f"p={verdict.p_value:.2g}")
    if verdict.change < 1 / verdict.threshold and p_faster < ALPHA:
        return verdict.set(Outcome.FASTER)
    return verdict


def judge_case(baseline: Measurement, current: Measurement, thresholds: Thresholds) -> Verdict:
    """One case against its baseline."""
    threshold, gated, reason = thresholds.of(current.key)
    now, before = current.repeat_times(), baseline.repeat_times()
    verdict = Verdict(current.key.label, "case", current.time / baseline.time, threshold, gated,
                      p_value=stats.slower_p_value(now, before), baseline=baseline.time, current=current.time)
    contended = max(current.contended_share, baseline.contended_share)
    return _decide(verdict, contended, stats.slower_p_value(before, now), reason)


def judge_backend(backend: str, pairs: list[tuple[Measurement, Measurement]], thresholds: Thresholds) -> Verdict:
    """A backend: the median over its cases of current / baseline, and the rank test over every
    case's repeats, each divided by its case's baseline time."""
    threshold, gated, reason = thresholds.of_backend(backend)
    change = float(np.median([c.time / b.time for b, c in pairs]))
    now = np.concatenate([c.repeat_times() / b.time for b, c in pairs])
    before = np.concatenate([b.repeat_times() / b.time for b, c in pairs])
    verdict = Verdict(f"backend {backend} ({len(pairs)} cases)", "backend", change, threshold, gated,
                      p_value=stats.slower_p_value(now, before))
    contended = float(np.mean([c.contended_share > MAX_CONTENDED for b, c in pairs]))
    return _decide(verdict, contended, stats.slower_p_value(before, now), reason)


def compare(baseline: list[Measurement], current: list[Measurement], thresholds: Thresholds) -> list[Verdict]:
    """Verdicts of every backend, then of every case, measured (ok) on both sides.

    baseline, current: one Measurement per case (``pool`` several runs first).
    """
    base = {m.key: m for m in baseline if m.ok}
    pairs = [(base[m.key], m) for m in current if m.ok and m.key in base]
    if not pairs:
        raise UsageError("baseline and results share no successful case; baseline: "
                         + ", ".join(sorted({k.config for k in base})) + "; results: "
                         + ", ".join(sorted({m.key.config for m in current})))
    backends: dict[str, list] = {}
    for b, c in pairs:
        backends.setdefault(c.key.backend, []).append((b, c))
    by_backend = [judge_backend(name, group, thresholds) for name, group in sorted(backends.items())]
    by_case = [judge_case(b, c, thresholds) for b, c in pairs]
    return machine_wide(by_backend, by_case)


def machine_wide(by_backend: list[Verdict], by_case: list[Verdict]) -> list[Verdict]:
    """When every gated backend (two or more) regressed, the machine itself may be slower (another
    VM of the same kind, a neighbour the load records cannot see): a code change rarely slows
    interpreter loops, BLAS and torch alike. Each verdict is then judged again on its change over
    the backends' median change (``drift``); what stays within its threshold becomes "cannot say"
    (exit 3, as contention), what still exceeds it stays a regression. A change that really slows
    every backend alike is then only reported, never failed: the stored-baseline check is built to
    catch one backend slowed (docs/noise-study.md)."""
    gated = [v for v in by_backend if v.gated]
    if len(gated) < 2 or not all(v.regression for v in gated):
        return by_backend + by_case
    drift = float(np.median([v.change for v in gated]))
    for v in [*by_backend, *by_case]:
        if v.regression and v.change / drift <= v.threshold:
            v.set(Outcome.MACHINE_WIDE, f"every backend {(drift - 1) * 100:+.0f}% alike")
    return by_backend + by_case


def stored_exit_code(verdicts: list[Verdict]) -> int:
    """0 no regression; 1 a regression; 3 a gated verdict could not be judged."""
    if any(v.regression for v in verdicts):
        return EXIT_REGRESSION
    return EXIT_NO_VERDICT if any(v.unjudged for v in verdicts) else EXIT_OK

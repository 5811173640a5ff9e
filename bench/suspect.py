"""Numbers that cannot be true, or should not be: flagged with the reason, never shown as fact.

* a case above 100% of the same run's measured peak for its dtype and threads: the peak was
  measured while the machine was busy (or the FLOP count is wrong);
* an all-cores case slower than the same case at 1 thread by more than ``SLOWER_AT_ALL_CORES``,
  beyond the noise (its 95% interval wholly above that factor): a collapse, usually a neighbour
  taking a core during those rounds;
* a peak below the peak of a smaller thread count in the same run: more cores cannot make a
  large matrix product slower unless they were not really there.

Every reader that shows these numbers (the run's table, the report, the check) asks here.
"""

from __future__ import annotations

from .keys import CaseKey, MachineKey, device
from .measurement import Measurement
from .stats import ratio_interval

SLOWER_AT_ALL_CORES = 1.25

Where = tuple[MachineKey, str, CaseKey]  # machine, run_id, case


def _where(m: Measurement) -> Where:
    return (m.machine, m.run_id, m.key)


def _peak_rates(peaks: list[Measurement]) -> dict[tuple, float]:
    """(machine, run, dtype, threads) -> best GFLOP/s of the run's GEMM peaks."""
    best: dict[tuple, float] = {}
    for p in peaks:
        if p.ok and p.flops > 0 and p.key.config.startswith("gemm-"):
            key = (p.machine, p.run_id, p.key.dtype, p.key.threads)
            best[key] = max(best.get(key, 0.0), p.flops / p.time / 1e9)
    return best


def suspects(cases: list[Measurement], peaks: list[Measurement] = ()) -> dict[Where, list[str]]:
    """Reasons to distrust each flagged case or peak, keyed by (machine, run_id, case key)."""
    out: dict[Where, list[str]] = {}
    rates = _peak_rates(list(peaks))
    for m in cases:
        if not m.ok or m.flops <= 0 or device(m.key.backend) == "gpu":
            continue
        peak = rates.get((m.machine, m.run_id, m.key.dtype, m.key.threads))
        achieved = m.flops / m.time / 1e9
        if peak and achieved > peak:
            out.setdefault(_where(m), []).append(
                f"{achieved / peak:.0%} of the same run's measured peak ({peak:,.3g} GFLOP/s): the peak was probably "
                "measured while the machine was busy")
    singles = {(m.machine, m.run_id, m.key.config, m.key.batch_size, m.key.backend, m.key.dtype): m
               for m in cases if m.ok and m.key.threads == 1}
    for m in cases:
        if not m.ok or m.key.threads == 1:
            continue
        one = singles.get((m.machine, m.run_id, m.key.config, m.key.batch_size, m.key.backend, m.key.dtype))
        if one is None or m.time <= SLOWER_AT_ALL_CORES * one.time:
            continue
        interval = ratio_interval(m.clean, m.clean_repeats, one.clean, one.clean_repeats, resamples=1000)
        if interval is None or interval.low > SLOWER_AT_ALL_CORES:
            out.setdefault(_where(m), []).append(
                f"{m.time / one.time:.2f}x slower at {m.key.threads} threads than at 1 thread: the cores were "
                "probably not all there (a neighbour, or contention)")
    for (machine, run_id, dtype, threads), rate in rates.items():
        for (machine2, run2, dtype2, fewer), rate2 in rates.items():
            if (machine2, run2, dtype2) == (machine, run_id, dtype) and fewer < threads and rate < rate2:
                for p in peaks:
                    if (p.machine, p.run_id, p.key.dtype, p.key.threads) == (machine, run_id, dtype, threads):
                        out.setdefault(_where(p), []).append(
                            f"peak {rate:,.3g} GFLOP/s at {threads} threads is below {rate2:,.3g} at {fewer}: "
                            "measured while the machine was busy")
    return out


def flag_text(reasons: dict[Where, list[str]], m: Measurement) -> str:
    return "; ".join(reasons.get(_where(m), []))

"""Time per step against width in the mlp-width-N sweep, and the fitted power-law exponent.

A width-N MLP (input = hidden = N, 10 classes) at a fixed batch does about N² multiply-adds per
step, so any backend whose time is dominated by arithmetic shows an exponent near 2, vectorized
or not. At small widths fixed per-call costs dominate vectorized backends and flatten the curve,
so besides the fit over every width the report fits the **compute-bound** widths: those where the
line's achieved FLOP rate is at least ``COMPUTE_BOUND`` of its best (the time grows with the
arithmetic there, not with the calls). With fewer than three such widths it fits the widest three.
Where the rate has not levelled off even there (a GPU whose every step takes the same launch-bound
time), the line has no compute-bound widths, and the report says so rather than fit them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cases import Case
from implementations.registry import order_key
from ..stats import PowerFit, fit_power


@dataclass(frozen=True)
class SweepLine:
    machine: str
    backend: str
    dtype: str
    threads: int
    widths: np.ndarray
    medians: np.ndarray  # seconds per step
    cases: list[Case]
    fit_all: PowerFit | None
    fit_wide: PowerFit | None  # the compute-bound widths (at least three), see the module docstring
    bound_from: int = 0  # the narrowest width fit_wide uses
    rate_growth: float = 1.0  # the FLOP rate at the widest width over that at bound_from

    @property
    def label(self) -> str:
        return self.cases[0].label

    @property
    def compute_bound(self) -> bool:
        """Whether the widths fit_wide uses are compute-bound, from the measured rate: the FLOP rate
        has levelled off there (grows less than ``SATURATED``-fold across them). A line whose time is
        flat (a GPU's launch-bound steps) has its rate still growing with the arithmetic, about
        4x an octave, and is not: its exponent says how launches cost, not how the arithmetic grows."""
        return self.rate_growth < SATURATED


COMPUTE_BOUND = 0.5  # of the line's best FLOP rate
SATURATED = 2.0  # the FLOP rate grows less than this across the fitted widths where it has levelled off


def compute_bound(widths: np.ndarray, medians: np.ndarray, flops: np.ndarray) -> int:
    """How many of the widest points the asymptotic fit uses: from the narrowest width whose FLOP
    rate, and every wider one's, reach ``COMPUTE_BOUND`` of the best rate; at least three."""
    rates = flops / medians
    start = len(widths)
    while start > 0 and rates[start - 1] >= COMPUTE_BOUND * rates.max():
        start -= 1
    return max(3, len(widths) - start)


def _fit(widths: np.ndarray, values: np.ndarray) -> PowerFit | None:
    return fit_power(widths, values) if widths.size >= 2 else None


def sweep_lines(cases: list[Case]) -> list[SweepLine]:
    groups: dict[tuple, list[Case]] = {}
    for c in cases:
        if c.ok and c.sweep_width is not None:
            groups.setdefault((c.machine, c.backend, c.dtype, c.threads), []).append(c)
    lines = []
    for (machine, backend, dtype, threads), group in sorted(
            groups.items(), key=lambda kv: (kv[0][0], order_key(kv[0][1]), kv[0][2], kv[0][3])):
        group = sorted(group, key=lambda c: c.sweep_width)
        widths = np.array([c.sweep_width for c in group], dtype=float)
        medians = np.array([c.median for c in group])
        flops = np.array([c.flops for c in group], dtype=float)
        k = min(widths.size, compute_bound(widths, medians, flops))
        wide = _fit(widths[-k:], medians[-k:]) if widths.size >= 3 else None
        rates = flops / medians
        growth = float(rates[-1] / rates[-k]) if rates[-k] > 0 else float("inf")
        lines.append(SweepLine(machine, backend, dtype, threads, widths, medians, group,
                               _fit(widths, medians), wide, int(widths[-k]), growth))
    return lines


def flops_exponent(cases: list[Case]) -> PowerFit | None:
    """Exponent of the recorded FLOPs per step against width over the whole sweep: the arithmetic
    the sweep asks for, to which the compute-bound time exponents are compared."""
    by_width = {c.sweep_width: c.flops for c in cases if c.sweep_width is not None and c.flops > 0}
    if len(by_width) < 3:
        return None
    widths = np.array(sorted(by_width), dtype=float)
    flops = np.array([by_width[int(w)] for w in widths], dtype=float)
    return fit_power(widths, flops)

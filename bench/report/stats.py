"""Statistics over timed rounds: bootstrap interval of a ratio of medians, noise, power-law fits.

Every random draw comes from ``numpy.random.default_rng(seed)`` with a fixed seed, so a report
built twice from the same files shows the same intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats

SEED = 20240901
RESAMPLES = 10_000
NOISY = 0.10  # IQR / median above this marks a case noisy (torch.utils.benchmark warns at 0.1 too)


def ratio_of_medians(numerator, denominator) -> float:
    return float(np.median(numerator) / np.median(denominator))


def bootstrap_ratio_ci(numerator, denominator, resamples: int = RESAMPLES, seed: int = SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of median(numerator) / median(denominator).

    Each side's rounds are resampled independently with replacement: first ``resamples`` draws
    of the numerator's indices, then of the denominator's, from one generator seeded ``seed``. A
    side with a single round resamples to itself, so the interval reflects only the other side.
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.size, size=(resamples, a.size))
    ib = rng.integers(0, b.size, size=(resamples, b.size))
    ratios = np.median(a[ia], axis=1) / np.median(b[ib], axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(low), float(high)


def iqr_over_median(seconds) -> float:
    """Interquartile range over median of a case's rounds; 0 for a single round."""
    x = np.asarray(seconds, dtype=float)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float((q3 - q1) / med)


@dataclass(frozen=True)
class PowerFit:
    """``y = c * x ** exponent`` fitted by least squares on log-log axes."""

    exponent: float
    low: float  # 95% interval from the slope's standard error (Student t, n - 2 degrees of freedom)
    high: float
    prefactor: float
    points: int


def fit_power(x, y, level: float = 0.95) -> PowerFit:
    """Least-squares line through (log x, log y). With two points the interval is unknown (NaN)."""
    lx = np.log(np.asarray(x, dtype=float))
    ly = np.log(np.asarray(y, dtype=float))
    n = lx.size
    if n < 2:
        raise ValueError(f"a power-law fit needs at least two points, got {n}")
    result = sstats.linregress(lx, ly)
    if n > 2:
        half = sstats.t.ppf(0.5 + level / 2.0, n - 2) * result.stderr
        low, high = result.slope - half, result.slope + half
    else:
        low = high = float("nan")
    return PowerFit(float(result.slope), float(low), float(high), float(np.exp(result.intercept)), n)

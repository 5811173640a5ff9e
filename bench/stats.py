"""Every statistic vecbench reports or decides with, in one place.

A measured case is a set of timed rounds grouped into repeats: a repeat is one block of
consecutive rounds, and the repeats of one case are interleaved with the other cases of its
config (``bench.runner``), so consecutive repeats of a case are seconds to minutes apart. Rounds
inside a repeat share the machine's state of that moment; repeats do not. So every interval
here is a *hierarchical* bootstrap: resample repeats with replacement, then rounds within each
chosen repeat (the pyperf design: the spread between processes or repeats is part of every
figure). A case with a single round has no interval at all.

Every random draw comes from ``numpy.random.default_rng(seed)``: the same files give the same
intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats

SEED = 20240901
RESAMPLES = 4000
LEVEL = 0.95
NOISY = 0.10  # IQR / median above this marks a case noisy (torch.utils.benchmark warns at 0.1 too)

# The statistic of a case's rounds. The A/A study (``python -m bench noise``, docs/noise-study.md)
# compares median, minimum and 20%-trimmed mean by how far each moves between independent runs of
# the same code; the median moved least on this machine (see docs/noise-study.md).
ESTIMATOR = "median"
ESTIMATORS = ("median", "min", "trimmed")


def center(values, estimator: str = ESTIMATOR) -> float:
    """The case's time from its rounds: seconds per step. NaN for no rounds."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan
    if estimator == "median":
        return float(np.median(x))
    if estimator == "min":
        return float(np.min(x))
    if estimator == "trimmed":
        return float(sstats.trim_mean(x, 0.2))
    raise ValueError(f"unknown estimator {estimator!r}; accepted: {', '.join(ESTIMATORS)}")


def repeat_centers(seconds, repeats, estimator: str = ESTIMATOR) -> np.ndarray:
    """One value per repeat: the estimator over that repeat's rounds. Shape (repeats,)."""
    seconds = np.asarray(seconds, dtype=float)
    repeats = np.asarray(repeats)
    return np.array([center(seconds[repeats == r], estimator) for r in np.unique(repeats)])


def _groups(seconds, repeats) -> np.ndarray:
    """Rounds as a (repeats, most rounds) matrix padded with NaN."""
    seconds = np.asarray(seconds, dtype=float)
    repeats = np.asarray(repeats)
    ids = np.unique(repeats)
    width = max(int((repeats == r).sum()) for r in ids)
    out = np.full((ids.size, width), np.nan)
    for i, r in enumerate(ids):
        values = seconds[repeats == r]
        out[i, :values.size] = values
    return out


def hierarchical_resample(seconds, repeats, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap replicates of the median: repeats with replacement, then rounds
    with replacement within each chosen repeat. Each repeat weighs as much as any other (its
    rounds are one observation of the machine's state). Shape (resamples,).
    """
    groups = _groups(seconds, repeats)
    n_repeats, width = groups.shape
    sizes = (~np.isnan(groups)).sum(axis=1)
    chosen = rng.integers(0, n_repeats, size=(resamples, n_repeats))  # (B, R)
    picks = np.floor(rng.random((resamples, n_repeats, width)) * sizes[chosen][..., None]).astype(int)
    drawn = groups[chosen[..., None], picks]  # (B, R, width)
    drawn[np.arange(width)[None, None, :] >= sizes[chosen][..., None]] = np.nan  # a repeat draws its own count
    return np.nanmedian(drawn.reshape(resamples, -1), axis=1)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


# The bootstrap sees the spread between a run's repeats, minutes apart; independent runs differ by
# more. The A/A study (``python -m bench noise``; 21 quick runs on the Intel Xeon machine kind)
# measured how often one run's interval covers an independent run's value: 74% for speedups over
# loops and 55% for case times unwidened, and the widening on the log scale that makes it 95%:
# 2.38 and 4.73. Every interval is widened by these factors, so that a 95% interval says where an
# independent run would land. docs/noise-study.md gives the figures.
WIDENING = 2.4  # ratio intervals (the report's multipliers)
TIME_WIDENING = 4.8  # intervals of one case's time


def _interval(point: float, draws: np.ndarray, level: float, widen: float) -> Interval:
    """Percentile interval of ``draws`` around ``point``, each side stretched by ``widen`` on the log scale."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    if widen == 1.0 or point <= 0:
        return Interval(float(low), float(high))
    return Interval(float(point * (low / point) ** widen), float(point * (high / point) ** widen))


def ratio_interval(numerator, numerator_repeats, denominator, denominator_repeats, *,
                   resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL,
                   widen: float | None = None) -> Interval | None:
    """Hierarchical-bootstrap interval of median(numerator) / median(denominator).

    Each side: seconds per round and the repeat of each round, shape (rounds,). None when either
    side has a single round: one time says nothing about its own spread, and an interval from the
    other side alone would look falsely certain.
    """
    if np.asarray(numerator).size < 2 or np.asarray(denominator).size < 2:
        return None
    rng = np.random.default_rng(seed)
    top = hierarchical_resample(numerator, numerator_repeats, resamples, rng)
    bottom = hierarchical_resample(denominator, denominator_repeats, resamples, rng)
    point = float(np.median(numerator) / np.median(denominator))
    return _interval(point, top / bottom, level, WIDENING if widen is None else widen)


def center_interval(seconds, repeats, *, resamples: int = RESAMPLES, seed: int = SEED,
                    level: float = LEVEL, widen: float | None = None) -> Interval | None:
    """Hierarchical-bootstrap interval of a case's median time; None for a single round."""
    if np.asarray(seconds).size < 2:
        return None
    draws = hierarchical_resample(seconds, repeats, resamples, np.random.default_rng(seed))
    return _interval(float(np.median(seconds)), draws, level, TIME_WIDENING if widen is None else widen)


def slower_p_value(current, baseline) -> float:
    """One-sided Mann-Whitney U p-value that ``current`` values tend to exceed ``baseline``'s.

    current, baseline: one value per repeat (or per run). asv's ``continuous`` decides with a
    factor plus this test; exact for the small samples a check has. 1.0 with fewer than two
    values on a side (nothing to rank).
    """
    a = np.asarray(current, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.size < 2 or b.size < 2:
        return 1.0
    return float(sstats.mannwhitneyu(a, b, alternative="greater").pvalue)


def iqr_over_median(seconds) -> float:
    """Interquartile range over median of a case's rounds; 0 for a single round."""
    x = np.asarray(seconds, dtype=float)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float((q3 - q1) / med)


def describe(seconds) -> dict[str, float]:
    """Descriptive statistics of a case's rounds (seconds per step): min, max, mean, stddev (the
    sample's, n - 1; 0 for one round), median, q1 and q3 (numpy's linear percentiles, as in
    ``iqr_over_median``) and iqr."""
    x = np.asarray(seconds, dtype=float)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return {"min": float(x.min()), "max": float(x.max()), "mean": float(x.mean()),
            "stddev": float(x.std(ddof=1)) if x.size > 1 else 0.0, "median": float(med),
            "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}


def normal_quantile(p: float) -> float:
    return float(sstats.norm.ppf(p))


@dataclass(frozen=True)
class PowerFit:
    """``y = c * x ** exponent`` fitted by least squares on log-log axes."""

    exponent: float
    low: float  # 95% interval from the slope's standard error (Student t, n - 2 degrees of freedom)
    high: float
    prefactor: float
    points: int


def fit_power(x, y, level: float = LEVEL) -> PowerFit:
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

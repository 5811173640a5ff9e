"""The noise study: how far the speedup ratios move between repeated runs of the same code.

``python -m bench check`` flags a ratio that fell by more than a tolerance. Its default,
``bench.check.DEFAULT_TOLERANCE``, comes from here: run ``python -m bench run --profile quick``
five or more times on one quiet machine (a file per run, or all appended to one), then

    noise_summary(paths)        one row per ratio: its spread over the runs
    recommend_tolerance(table)  the smallest tolerance that keeps false alarms rarer than 1 in 20

Unlike the check, which takes only the newest run of each file, the study uses every run.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .check import compute_ratios
from .errors import UsageError
from .results import read_results

MIN_RUNS = 3  # fewer runs say nothing about the spread between runs

SUMMARY_COLUMNS = ["ratio", "runs", "min", "median", "max", "rel_std", "max_drop_vs_others", "max_pairwise_drop",
                   "sd_log"]


def ratios_per_run(paths: list[str | Path]) -> pd.DataFrame:
    """Columns ``ratio`` (label), ``run_id``, ``value``: every ratio of every run in the files."""
    frame = read_results(paths)
    machines = frame[["cpu", "cores"]].drop_duplicates()
    if len(machines) > 1:
        raise UsageError(f"the noise study takes runs of one machine; these files hold {len(machines)}: "
                         + "; ".join(f"{cpu!r} with {cores} cores" for cpu, cores in machines.itertuples(index=False)))
    rows = [(r.key.label, r.run_id, r.value) for r in compute_ratios(frame)]
    if not rows:
        raise UsageError("no ratio in these files: runs need the loops case or numpy and torch-cpu")
    return pd.DataFrame(rows, columns=["ratio", "run_id", "value"])


def _spread(values: np.ndarray) -> dict:
    """Spread of one ratio over runs; values: (runs,)."""
    others = [np.median(np.delete(values, i)) for i in range(len(values))]
    return {
        "runs": len(values),
        "min": values.min(),
        "median": np.median(values),
        "max": values.max(),
        "rel_std": values.std(ddof=1) / values.mean(),
        # how far the worst run fell below the rest: what a baseline of typical runs would have seen
        "max_drop_vs_others": max(1 - v / o for v, o in zip(values, others)),
        # the check compares one run with one run: its worst case is the fastest run as the
        # baseline and the slowest as the current run
        "max_pairwise_drop": 1 - values.min() / values.max(),
        "sd_log": np.log(values).std(ddof=1),
    }


def noise_summary(paths: list[str | Path]) -> pd.DataFrame:
    """One row per ratio measured in at least two runs, noisiest (largest pairwise drop) first.

    paths: results files or folders of repeated runs on one machine. Columns: ``ratio``, ``runs``,
    ``min``/``median``/``max`` of the ratio over runs, ``rel_std`` (standard deviation over mean),
    ``max_drop_vs_others`` (largest ``1 - run / median(other runs)``), ``max_pairwise_drop``
    (``1 - min / max``: the largest fall of any run against any other as baseline) and ``sd_log``
    (standard deviation of the log ratio).
    """
    per_run = ratios_per_run(paths)
    runs = per_run["run_id"].nunique()
    if runs < 2:
        raise UsageError(f"the noise study needs repeated runs; {', '.join(map(str, paths))} hold(s) {runs}")
    rows = []
    for label, group in per_run.groupby("ratio", sort=True):
        values = group["value"].to_numpy(dtype=float)
        if len(values) >= 2:
            rows.append({"ratio": label, **_spread(values)})
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return table.sort_values("max_pairwise_drop", ascending=False, ignore_index=True)


@dataclass(frozen=True)
class ToleranceChoice:
    value: float  # the recommended tolerance
    empirical: float  # the largest pairwise drop seen, widened by the margin
    parametric: float  # the normal-model bound
    runs: int
    ratios: int
    driver: str  # the ratio that set the larger of the two

    def __str__(self) -> str:
        return (f"recommended tolerance {self.value:.2f}: the larger of {self.empirical:.3f} (largest fall between "
                f"any two of {self.runs} runs, widened by the margin) and {self.parametric:.3f} (normal model of log "
                f"ratios, {self.ratios} ratios), rounded up; set by {self.driver}")


def recommend_tolerance(summary: pd.DataFrame, alarm_rate: float = 0.05, margin: float = 1.5,
                        step: float = 0.05) -> ToleranceChoice:
    """The default tolerance for ``check``: same code, same machine kind, false alarm < ``alarm_rate``.

    Two estimates; the larger wins, rounded up to a multiple of ``step``:

    * empirical: the largest ``max_pairwise_drop`` (the tolerance that would have flagged no run
      against any other), widened by ``margin`` on the log scale: ``1 - (1 - drop) ** margin``
      (about ``margin * drop`` for small drops, and never 100%). The maximum alone is not enough:
      of n exchangeable runs plus a new one, the new one is the most extreme with chance 1/(n+1),
      1 in 6 for n = 5.
    * parametric: log ratios as normal with the ``sd_log`` seen; a check compares two runs, so a
      log change has sd ``sqrt(2) * sd_log``. With K ratios per check, a Bonferroni share of the
      alarm rate per ratio gives ``z = Phi^-1(1 - alarm_rate / K)`` and the bound
      ``1 - exp(-z * sqrt(2) * sd_log)`` for the noisiest ratio.

    Both ignore the check's bootstrap condition, which can only veto an alarm, so the check's
    false-alarm rate is at most theirs. The value is capped at ``1 - step``; one that high means the
    ratios are too noisy for a useful check (``run_noise`` warns). ``summary`` may be a subset of
    the rows, e.g. only the 1-thread ratios, to size a tolerance for those alone.
    """
    if summary.empty:
        raise UsageError("no ratio in the noise summary")
    runs = int(summary["runs"].max())
    if runs < MIN_RUNS:
        raise UsageError(f"a tolerance needs at least {MIN_RUNS} runs of the same code; the summary has {runs}")
    z = stats.norm.ppf(1 - alarm_rate / len(summary))
    bounds = 1 - np.exp(-z * math.sqrt(2) * summary["sd_log"].to_numpy(dtype=float))
    empirical = 1 - (1 - float(summary["max_pairwise_drop"].max())) ** margin
    parametric = float(bounds.max())
    if empirical >= parametric:
        driver = summary.loc[summary["max_pairwise_drop"].idxmax(), "ratio"]
    else:
        driver = summary["ratio"].iloc[int(bounds.argmax())]
    value = min(math.ceil(max(empirical, parametric, step) / step - 1e-9) * step, 1 - step)
    return ToleranceChoice(round(value, 6), empirical, parametric, runs, len(summary), str(driver))


def format_summary(summary: pd.DataFrame) -> str:
    shown = summary.assign(**{c: summary[c].map(lambda v: f"{v:.4g}") for c in ("min", "median", "max")},
                           **{c: summary[c].map(lambda v: f"{v:.1%}")
                              for c in ("rel_std", "max_drop_vs_others", "max_pairwise_drop")},
                           sd_log=summary["sd_log"].map(lambda v: f"{v:.3f}"))
    return shown.to_string(index=False)


def run_noise(paths: list[str | Path], out=None) -> int:
    """Print the noise summary and the recommended tolerance (hook for ``python -m bench noise``)."""
    out = out or sys.stdout
    summary = noise_summary(paths)
    print(format_summary(summary), file=out)
    choice = recommend_tolerance(summary)
    print(file=out)
    print(choice, file=out)
    if choice.value >= 0.5:
        print("warning: ratios this noisy make a weak check; measure on a quieter machine", file=out)
    return 0
